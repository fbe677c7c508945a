// index::FrontierIndex: the in-memory index of one pool, rebuilt from storage on open.
//
// Every known query has an Entry (72 bytes) in a dense table indexed by id. An Entry is a
// member of at most one ordered set at a time, the set of its state:
//
//   LOW       ordered by (reward, seq); the boundary is its maximum, the hardest its minimum
//   HIGH      ordered by (reward, seq); the boundary is its minimum, the easiest its maximum
//
// Ties on reward go to the oldest placement (smallest seq) at both ends, as the reference's
// heaps of (key, seq) tuples do: LowMax() is the largest reward with the smallest seq.
//   COLD      ordered by seq: a FIFO whose front is the oldest placement
//   IN_FLIGHT ordered by (lease deadline, id): the next lease to expire is the first
//   ARCHIVED  ordered by id (the canonical order reinsertion shuffles from): a bitmap of ids,
//             not a tree, because every report archives a query at a random id
//   PENDING   ordered by id
//   EVICTED / REJECTED: in no set (terminal)
//
// The other sets are Boost.Intrusive red-black trees whose nodes live inside the entries: no
// allocation per move, O(1) extremes, O(log n) insert and erase by id, no lazy deletion.
// Orders are total ((reward, seq) with seq unique), so an index rebuilt from disk behaves
// exactly like the one that was written.
//
// Transactions: mutations happen inside Begin()/Commit() or Rollback(). The first change to an
// entry in a transaction saves a copy; Commit() returns the ids whose state must be written,
// Rollback() restores entries, counters and the RNG exactly. This lets the pool compute an
// operation on the index, write its batch, and undo it if the write fails, all under its lock.
//
// Thread safety: none; the owning Pool's mutex guards every call.
#ifndef HEAPA_INDEX_FRONTIER_H_
#define HEAPA_INDEX_FRONTIER_H_

#include <boost/intrusive/set.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "index/id_bitmap.h"
#include "index/rng.h"
#include "storage/records.h"
#include "storage/status.h"

namespace heapa::index {

using storage::QueryState;

// Safe-mode hooks (reset when unlinked, asserted unlinked when destroyed) where assertions are
// on, as in the Debug build the ASan tests run; normal hooks otherwise, whose sets clear in
// O(1): destroying the index of a 1M pool (a close, a rebuild, VerifyIndex) took 121-198 ms
// walking every entry to reset its hook, and takes 17-20 ms without (README, session 12).
// Nothing reads the hook of an unlinked entry: `attached` says whether it is linked. The whole
// project is built with one build type, so every user of this header sees the same mode.
#ifdef NDEBUG
inline constexpr boost::intrusive::link_mode_type kHookMode = boost::intrusive::normal_link;
#else
inline constexpr boost::intrusive::link_mode_type kHookMode = boost::intrusive::safe_link;
#endif

struct Entry {
  using Hook = boost::intrusive::set_member_hook<boost::intrusive::link_mode<kHookMode>,
                                                 boost::intrusive::optimize_size<true>>;
  Hook hook;
  uint64_t id = 0;    // 0: no query has this slot
  double reward = 0;  // meaningful when has_reward
  uint64_t seq = 0;
  uint64_t lease = 0;             // last lease granted; 0 = never sampled
  int64_t lease_deadline_ms = 0;  // meaningful while IN_FLIGHT
  uint32_t times_sampled = 0;
  QueryState state = QueryState::kEvicted;
  QueryState prev_state = QueryState::kCold;
  bool has_reward : 1 = false;
  bool touched : 1 = false;   // saved in the current transaction
  bool attached : 1 = false;  // counted in its state (and a member of its set, if it has one)

  storage::StateRecord ToRecord() const;
};

struct ByRewardSeq {
  bool operator()(const Entry& a, const Entry& b) const {
    return a.reward < b.reward || (a.reward == b.reward && a.seq < b.seq);
  }
};
struct BySeq {
  bool operator()(const Entry& a, const Entry& b) const { return a.seq < b.seq; }
};
struct ByDeadline {
  bool operator()(const Entry& a, const Entry& b) const {
    return a.lease_deadline_ms < b.lease_deadline_ms ||
           (a.lease_deadline_ms == b.lease_deadline_ms && a.id < b.id);
  }
};
struct ById {
  bool operator()(const Entry& a, const Entry& b) const { return a.id < b.id; }
};

template <typename Compare>
using EntrySet =
    boost::intrusive::set<Entry, boost::intrusive::member_hook<Entry, Entry::Hook, &Entry::hook>,
                          boost::intrusive::compare<Compare>,
                          boost::intrusive::constant_time_size<true>>;

class FrontierIndex {
 public:
  FrontierIndex();
  ~FrontierIndex();
  FrontierIndex(const FrontierIndex&) = delete;
  FrontierIndex& operator=(const FrontierIndex&) = delete;

  // ---- Lookup. O(1).
  Entry* Find(uint64_t id);
  const Entry* Find(uint64_t id) const;

  // ---- Transactions.
  // REQUIRES: no transaction open.
  void Begin();
  // The ids of every entry changed or created in the open transaction, ascending.
  std::vector<uint64_t> Touched() const;
  // Whether the open transaction changed or created any entry. O(1).
  bool has_changes() const { return !saved_.empty() || !created_.empty(); }
  // Ends the transaction, keeping its changes.
  void Commit();
  // Restores everything (entries, sets, counters, RNG) to the state at Begin().
  void Rollback();
  bool in_transaction() const { return in_txn_; }

  // ---- Mutations. REQUIRE an open transaction.
  // A new entry with id counters().next_id (which advances), detached, state EVICTED.
  Entry& Create();
  // Unlinks `e` from its set (e.state is kept: it names where e came from).
  void Detach(Entry& e);
  // Sets e.state = state and links `e` into that state's set. REQUIRES: e detached; the
  // ordering fields of that set (reward/seq, deadline) already set.
  void Attach(Entry& e, QueryState state);
  // Marks `e` as changed without moving it (for writes of fields outside any set key).
  void Touch(Entry& e);
  // A fresh placement sequence number.
  uint64_t TakeSeq() { return counters_.next_seq++; }

  // ---- Rebuild. Outside transactions, before any other use.
  // Adds a stored entry. Ids may come in any order but only once each.
  void Load(uint64_t id, const storage::StateRecord& rec);
  // Links loaded entries into their sets in bulk (sorted insertion with hints). Corruption
  // when two entries of one set share an ordering key (stored seqs must be unique); the index
  // is then unusable.
  Status FinishLoad();

  // ---- Sets.
  EntrySet<ByRewardSeq>& low() { return low_; }
  EntrySet<ByRewardSeq>& high() { return high_; }
  EntrySet<BySeq>& cold() { return cold_; }
  EntrySet<ByDeadline>& in_flight() { return in_flight_; }
  EntrySet<ById>& pending() { return pending_; }
  const EntrySet<ByRewardSeq>& low() const { return low_; }
  const EntrySet<ByRewardSeq>& high() const { return high_; }
  const EntrySet<BySeq>& cold() const { return cold_; }
  const EntrySet<ByDeadline>& in_flight() const { return in_flight_; }
  // The ids of the ARCHIVED entries, ascending.
  const IdBitmap& archived() const { return archived_; }
  const EntrySet<ById>& pending() const { return pending_; }
  // The ends of the frontier sets; ties on reward go to the smallest seq. REQUIRE: the set
  // is not empty. O(1) for the minima and the cold front, O(log n) for the maxima.
  Entry& LowMax();
  Entry& LowMin() { return *low_.begin(); }
  Entry& HighMin() { return *high_.begin(); }
  Entry& HighMax();
  Entry& ColdFront() { return *cold_.begin(); }
  double LowMaxReward() const { return low_.rbegin()->reward; }
  double HighMinReward() const { return high_.begin()->reward; }

  // COLD + LOW + HIGH: what max_size counts.
  size_t pooled() const { return low_.size() + high_.size() + cold_.size(); }
  // Number of entries per state, terminal states included. O(1).
  size_t count(QueryState state) const { return counts_[static_cast<size_t>(state)]; }

  // ---- Counters and RNG, part of the transaction.
  storage::CountersRecord& counters() { return counters_; }
  const storage::CountersRecord& counters() const { return counters_; }
  Rng& rng() { return rng_; }

  // Approximate bytes of memory held by the index (entries, table and archive bitmap).
  size_t MemoryBytes() const;

 private:
  static constexpr size_t kChunkBits = 12;
  static constexpr size_t kChunkSize = size_t{1} << kChunkBits;

  Entry& Slot(uint64_t id);
  void Link(Entry& e);
  void Unlink(Entry& e);

  std::vector<std::unique_ptr<Entry[]>> chunks_;
  uint64_t capacity_ids_ = 0;  // ids 1..capacity_ids_ have a slot

  EntrySet<ByRewardSeq> low_;
  EntrySet<ByRewardSeq> high_;
  EntrySet<BySeq> cold_;
  EntrySet<ByDeadline> in_flight_;
  IdBitmap archived_;
  EntrySet<ById> pending_;
  size_t counts_[storage::kMaxQueryState + 1] = {};

  storage::CountersRecord counters_;
  Rng rng_ = Rng::FromSeed(0);

  bool in_txn_ = false;
  std::vector<Entry> saved_;       // pre-transaction copies of existing entries
  std::vector<uint64_t> created_;  // ids created in the transaction
  storage::CountersRecord saved_counters_;
  Rng saved_rng_ = Rng::FromSeed(0);
};

}  // namespace heapa::index

#endif  // HEAPA_INDEX_FRONTIER_H_
