// storage::Committer: group commit, with read-your-writes, in front of one Store.
//
// A pool applies its operations to its in-memory index one at a time, in order, and hands
// each operation's batch here in that same order (Enqueue, numbered by the caller with
// strictly increasing sequence numbers). The caller then releases its own lock and calls
// Wait(seq). The first waiter finding no write in progress becomes the leader: it takes every
// queued batch, writes them as ONE synced Store::Write, and wakes the others. Batches queued
// while the leader writes form the next group. So N concurrent operations cost about one
// fsync instead of N, and each is still acknowledged only once its own batch is durable.
//
// Until its batch is durable, an operation's records are served from an in-memory overlay
// (Get, MultiGet, LastKey): the next operation reads what the previous ones wrote (dedup keys,
// request results) without waiting for their fsync. Not the records of the state and
// statistics logs ('C', 'J', 'U', 'K'), the meta records ('M': the counters every batch
// writes) and the lineage edges ('E'): Overlaid() is false for them. The pool holds those in
// memory and reads them from the store only when it opens, never through the committer:
// copying the logs' records into the overlay cost 7% of the daemon's CPU under small reports
// (session 20), and a state chunk is 164 KB. For those keys the reads see the store only.
// Nor a DeleteRange (the pool's retirement of old request results): until its batch is
// durable, reads still see the keys it deletes, as they were stored.
//
// A caller that must not block (a server's worker answering pipelined requests) uses
// WhenDurable instead of Wait: it leaves a callback and goes on, and the callback runs once the
// batch is durable. Someone must still write: a thread that finds no write in progress leads,
// and a leader keeps writing groups while batches are queued and no blocked waiter could take
// over, so a batch whose owner went away is never stranded.
//
// Within a group, an operation overwritten by a later one on the same key, or covered by a
// later range deletion, is dropped before the write (every operation stores the pool
// counters: a group of 16 writes them once); the range deletions go first, the rest in key
// order (Batch::Compact).
//
// A failed write fails its group and everything queued after it (their outcome is unknown):
// the committer turns failed for good, drops the overlay, rejects later batches, and Wait
// returns the error for every sequence number not yet durable (callbacks get it too). The
// owner must then rebuild its in-memory state from the store, which holds some prefix of the
// batches.
//
// Thread safety: all methods may be called concurrently; Enqueue and EnqueueFolding calls
// must come in sequence order (the owner serializes them under its own lock).
#ifndef HEAPA_STORAGE_COMMITTER_H_
#define HEAPA_STORAGE_COMMITTER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/batch.h"
#include "storage/result.h"
#include "storage/status.h"

namespace heapa::storage {

class Store;

class Committer {
 public:
  // The committer keeps `store` alive; whoever holds the committer may read through it after
  // its owner closed the store (the reads then fail with Unavailable). `durable_seq` is the
  // sequence number already durable in it; the first Enqueue must use a larger one.
  Committer(std::shared_ptr<Store> store, uint64_t durable_seq);
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Queues `batch` as operation `seq`. REQUIRES: seq greater than every earlier seq.
  // After a failure the batch is dropped (Wait(seq) then reports the failure).
  void Enqueue(uint64_t seq, Batch batch);

  // Whether operation `seq`'s batch is queued and no write has taken it yet: a hint (a leader
  // may take the queue right after), for EnqueueFolding, which checks again under its lock.
  // A batch enqueued while `seq`'s is queued is written in the same group: a leader takes the
  // whole queue.
  bool Queued(uint64_t seq) const;

  // As Enqueue, after removing the Put of `key` from operation `from`'s batch if that batch is
  // still queued (Queued(from)). The two batches are then written in one group, atomically, so
  // `batch` may carry what the removed Put held instead (the pool folds a journal record into
  // the next one this way). Returns whether it removed the Put; if not, `batch` is queued all
  // the same. REQUIRES: as Enqueue; from < seq; no other queued batch writes `key`.
  bool EnqueueFolding(uint64_t seq, Batch batch, uint64_t from, std::string_view key);
  // The same for several Puts (the pool folds its state journal and its statistics journal),
  // each from its own earlier batch: (*removed)[i] tells whether folds[i]'s Put was removed.
  struct Fold {
    uint64_t from = 0;
    std::string_view key;
  };
  void EnqueueFolding(uint64_t seq, Batch batch, std::span<const Fold> folds,
                      std::vector<bool>* removed);

  // Blocks until operation `seq` is durable (OK), or returns the write error that lost it.
  // May write other callers' batches as the leader of a group; once `seq` is durable, it
  // writes further groups only until a WhenDurable caller or another waiter takes over.
  Status Wait(uint64_t seq);

  // Calls done(OK) once operation `seq` is durable, or done(error) with the write error that
  // lost it. When that is already decided, done runs at once on this thread. Otherwise this
  // thread may first write groups itself (when no write is in progress, or to relieve a
  // blocked caller that writes for others), and done runs on the thread whose write decides
  // `seq`, with no lock of the committer held (that thread may hold its owner's lock, when it
  // is in Drain). `done` must be quick; it may Enqueue and even Wait (a write in progress has
  // finished by then). REQUIRES: seq was enqueued.
  using DoneFn = std::function<void(const Status&)>;
  void WhenDurable(uint64_t seq, DoneFn done);

  // Waits until nothing is queued or being written; returns the failure, if any.
  Status Drain();

  // Reads `key` as of the last enqueued batch: the overlay first, then the store. When the
  // value comes from a batch not yet durable and `pending_seq` is set, *pending_seq is that
  // batch's seq (else 0). NotFound when absent or deleted.
  Status Get(std::string_view key, std::string* value, uint64_t* pending_seq = nullptr) const;

  // Whether queued Puts and Deletes of `key` are served from the overlay (see above).
  static bool Overlaid(std::string_view key);

  // As Store::MultiGet, through the overlay.
  std::vector<Status> MultiGet(const std::vector<std::string>& keys,
                               std::vector<std::string>* values) const;

  // The greatest key starting with `prefix` as of the last enqueued batch: the greater of the
  // overlay's (a pending delete counts as present: the answer may be too high, never too low)
  // and the store's. nullopt when there is none. REQUIRES: `prefix` is not empty.
  Result<std::optional<std::string>> LastKey(std::string_view prefix) const;

  // The highest sequence number known durable.
  uint64_t durable_seq() const;
  // OK, or the error of the write that failed.
  Status failure() const;

  struct Counters {
    uint64_t writes = 0;   // synced writes issued
    uint64_t batches = 0;  // operations they carried
    uint64_t max_group = 0;
  };
  Counters counters() const;

 private:
  struct Pending {
    uint64_t seq;
    Batch batch;
  };
  struct OverlayValue {
    uint64_t seq;
    std::optional<std::string> value;  // nullopt: deleted
  };

  // The queued batch of operation `seq`, or null. REQUIRES: lock held.
  Pending* FindQueued(uint64_t seq);
  // Queues `batch` and records its keys in the overlay. REQUIRES: lock held, seq > last_seq_.
  void EnqueueLocked(uint64_t seq, Batch batch);
  // Writes the queued batches as one group, then runs the callbacks it decided (without the
  // lock). `reluctant`: the caller writes only for others (reluctant_leader_ meanwhile).
  // REQUIRES: lock held, no leader, queue not empty.
  void WriteGroup(std::unique_lock<std::mutex>& lock, bool reluctant);
  // Writes groups while no one else writes, batches are queued, nothing failed and no
  // blocked waiter can lead instead (callbacks alone do not write). `reluctant`: the caller's
  // own batch is durable, and a WhenDurable caller may relieve it. REQUIRES: lock held.
  void LeadWhileUnattended(std::unique_lock<std::mutex>& lock, bool reluctant);
  // Blocks, counted in waiters_, until the next group is written. REQUIRES: lock held.
  void AwaitGroup(std::unique_lock<std::mutex>& lock);

  const std::shared_ptr<Store> store_;
  mutable std::mutex mu_;
  std::condition_variable done_;                           // signalled after every group
  std::deque<Pending> queue_;                              // guarded by mu_
  std::unordered_map<std::string, OverlayValue> overlay_;  // guarded by mu_
  std::multimap<uint64_t, DoneFn> callbacks_;              // guarded by mu_: by seq
  bool leader_ = false;            // guarded by mu_: a group is being written
  int waiters_ = 0;                // guarded by mu_: threads blocked in Wait, Drain or WhenDurable
  bool reluctant_leader_ = false;  // guarded by mu_: the leader (leader_) writes only for others
  uint64_t durable_seq_;           // guarded by mu_
  uint64_t last_seq_;              // guarded by mu_
  Status failure_;                 // guarded by mu_
  Counters counters_;              // guarded by mu_
};

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_COMMITTER_H_
