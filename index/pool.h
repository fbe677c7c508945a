// heapa::Pool: one durable HeaPA prompt pool. Start here.
//
// A Pool is safe for concurrent use from multiple threads without external synchronization.
// One mutex serializes operations on the in-memory index; every mutation follows one path:
//
//   validate -> compute the change on the index (in a transaction) -> commit the index and
//   queue ONE batch (records, counters, RNG state) -> release the lock -> wait until the
//   batch is durable (group commit, storage/committer.h) -> return.
//
// Concurrent mutations therefore share fsyncs: while one group of batches is being written,
// the next operations apply to the index and queue up, and the next group carries them all.
// Nothing is acknowledged before its own batch is durable, and batches reach the disk in the
// order their operations were applied. Reads (Get, Stats, Lineage, ...) never wait for an
// fsync: they see every operation applied so far, including those whose group write is still
// in progress.
//
// If a write fails, every operation of its group and of later groups returns UnknownOutcome,
// the index is rebuilt from what the store holds, and the pool turns read-only ("degraded"):
// mutations are Unavailable, reads go on. Until the rebuild, reads may have shown changes of
// those operations. A mutation arriving PoolOptions::resume_interval_ms after the last attempt
// tries to resume the store (a full disk that has space again); when it takes writes again,
// the index is rebuilt from it and the pool is writable.
//
// Exactly once: every mutation takes an optional RequestKey. Its result is stored in the same
// batch, and a call with the key of an applied request returns the stored result without
// applying anything (after waiting for the original's batch to be durable). A key reused for
// a different kind of operation is InvalidArgument. A client's results are retired in blocks
// of kRetireBlock requests: storing a request r above the client's highest one (r - 1 is
// assumed for a client beyond kTrackedClients) deletes, in one range, every result of the
// client up to RetiredThrough(r) when that passes a block the highest did not. So a client
// keeps its last kRequestWindow results, and at most kRetireBlock - 1 more once it reaches its
// next block (clients number requests consecutively, as net::Client does; numbers spent on
// another pool, and old requests applied again, leave results only until then; admin
// requests count apart). A call that changed nothing (an empty sample, an all-duplicate
// report, an empty reinsert or recover) stores no result: running it again is harmless.
//
// Semantics: ../shared/DESIGN.md §3 and heapa-algorithm.md §3 (placement, sampling, eviction),
// §4.4-4.5 (reinsertion, refresh), §5.2-5.3 (augmented children).
//
// On disk a pool is a directory (storage/pool_dir.h): LIVE names the live RocksDB database
// generation; checkpoints/<tag>/ hold checkpoints. Admin operations (Checkpoint, Restore,
// Fork, Close) are serialized among themselves by a second mutex; Checkpoint does not hold
// the operation mutex, so sampling and reports go on while it runs.
//
// Memory: besides the index, the pool holds every query's running statistics (index/
// stats_table.h), loaded with the index; a Report reads none.
#ifndef HEAPA_INDEX_POOL_H_
#define HEAPA_INDEX_POOL_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "index/frontier.h"
#include "index/lineage.h"
#include "index/pool_options.h"
#include "index/refresh.h"
#include "index/stats_table.h"
#include "index/types.h"
#include "storage/pool_dir.h"
#include "storage/result.h"
#include "storage/state_log.h"
#include "storage/status.h"

namespace heapa {

namespace storage {
class Batch;
class Committer;
class DigestBuilder;
class Store;
struct StoreOptions;
}  // namespace storage

class Pool final {
 public:
  // How many recent request results each client has remembered per pool.
  static constexpr uint64_t kRequestWindow = 4096;
  // Results retired by one range deletion: a point Delete per stored result made 45% of the
  // records each flush wrote under small reports, and 2 of each report's 3 memtable inserts
  // (session 23).
  static constexpr uint64_t kRetireBlock = 256;
  // The highest request whose result storing request `request` retires: the multiple of
  // kRetireBlock at or below request - kRequestWindow (0: none).
  static constexpr uint64_t RetiredThrough(uint64_t request) {
    return request > kRequestWindow ? (request - kRequestWindow) / kRetireBlock * kRetireBlock : 0;
  }
  // How many clients' highest request ids a pool keeps in memory (last_request_ below); the
  // requests of further clients are still answered exactly once, with one more read each.
  static constexpr size_t kTrackedClients = 1 << 16;

  // Opens the pool in `dir` and rebuilds its index with a strict scan of every state record,
  // and loads every statistics record.
  // NotFound: no pool there and !create_if_missing. AlreadyExists: error_if_exists.
  // InvalidArgument: a bad options.config on creation. FailedPrecondition: a format version
  // this build cannot read. Corruption: any record fails verification (the key is named);
  // nothing is left open and no partial pool is served.
  static Result<std::unique_ptr<Pool>> Open(const std::string& dir, const PoolOptions& options);

  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Inserts queries in order, all in one batch: each new one goes to COLD (unscored) or to
  // LOW/HIGH by its reward with a local rebalance, evicting per policy when full. A query whose
  // (prompt, answer) exists already is not inserted again: its result names the existing id
  // with created=false. InvalidArgument (naming the query's index and the field) for an empty
  // prompt, a non-finite reward, an oversize field or batch: then nothing is written.
  // O(log n) per query.
  Result<std::vector<InsertResult>> Insert(std::span<const NewQuery> queries,
                                           const RequestKey& rk = {});

  // Leases up to req.count queries: expired leases return first; when fewer than the reinsert
  // threshold are pooled and the archive is not empty, the archive is reinserted; then the
  // COLD FIFO, then boundary (and in mixed mode, easiest) picks. All returned queries share
  // one new lease. An empty pool gives an empty vector. InvalidArgument for count 0 or above
  // max_batch, or a lease outside (0, max_lease_ms]. O(k log n). With texts, they are read
  // after the lease is committed, without the pool's lock; if that read fails (Corruption,
  // IOError, or Unavailable when the pool closes meanwhile), the error is returned and the
  // queries go back to the pool as if the lease had expired.
  Result<std::vector<SampledQuery>> Sample(const SampleRequest& req, const RequestKey& rk = {});

  // Records the rollouts of sampled queries, in one batch; outcomes follow the input order.
  // In flight under that lease: statistics update, reward = the group mean, state ARCHIVED.
  // Same (id, lease) reported before (among the query's last 16 reports): kDuplicate, no
  // change. Lease expired and not granted again since: kLate, statistics update only.
  // A lease past its deadline counts as expired once a Sample has processed the expiry.
  // An older lease of a query leased again since, or a lease granted in a future a Restore
  // abandoned: kStale, nothing recorded for that item.
  // NotFound for an unknown id; FailedPrecondition for another lease newer than the query's
  // latest (never granted to it); InvalidArgument for empty or non-finite rewards or an id twice in
  // one call. Any error: nothing of the call is written. Statistics read ahead are used;
  // while those of some of `items` are being read, the Report waits for that read.
  Result<std::vector<ReportOutcome>> Report(std::span<const ReportItem> items,
                                            const RequestKey& rk = {});

  // Returns every ARCHIVED query to LOW/HIGH by its reward, in an order shuffled by the pool
  // RNG (controlled reinsertion). Returns how many. O(A log n).
  Result<size_t> Reinsert(const RequestKey& rk = {});

  // Returns every IN_FLIGHT query to the pool now, as if its lease had expired: scored ones
  // are placed by their reward, unscored ones return to their old place in the COLD FIFO.
  // Returns how many. A later report for those leases is kLate.
  Result<size_t> Recover(const RequestKey& rk = {});

  // ---- Augmentation and lineage.

  // Inserts augmented children in one batch, with their lineage edges. Each names existing,
  // distinct parents (NotFound / InvalidArgument otherwise). A child without est_reward gets
  // EstimateChildReward(first parent's reward, policy_difficulty). Unvalidated children are
  // PENDING (never sampled, kept across restarts); validated ones enter the heaps by
  // est_reward. A child whose (prompt, answer) exists already is not inserted again and
  // gets no new edges: created=false names the existing query. Any error: nothing written.
  Result<std::vector<InsertResult>> InsertChildren(std::span<const NewChild> children,
                                                   const RequestKey& rk = {});

  // Admits a PENDING child into the heaps by its est_reward (accept), or marks it REJECTED.
  // `answer` replaces the stored answer (the teacher's), `teacher_difficulty` is kept in the
  // query's meta. NotFound for an unknown id; FailedPrecondition when it is not PENDING;
  // AlreadyExists when the new (prompt, answer) is already another query's.
  Status Validate(QueryId id, bool accept, std::optional<std::string> answer = std::nullopt,
                  std::optional<double> teacher_difficulty = std::nullopt,
                  const RequestKey& rk = {});

  // Parents, children, and ancestors/descendants up to max_depth. NotFound for an unknown id.
  Result<LineageView> Lineage(QueryId id, uint32_t max_depth) const;

  // The values a refresh would give, without writing anything: with `options`, or with the
  // pool's configured refresh when nullopt. InvalidArgument for a bad temperature.
  Result<std::vector<std::pair<QueryId, double>>> RefreshDryRun(
      const std::optional<index::RefreshOptions>& options = std::nullopt) const;

  // ---- Checkpoints.

  // Makes a checkpoint named `tag` (hard links; operations are not paused). InvalidArgument
  // for a bad tag, AlreadyExists when the tag is taken, except by request `rk` itself: a
  // retry of the request that made it is answered OK (storage/request_marker.h).
  Status Checkpoint(const std::string& tag, const RequestKey& rk = {});
  Result<std::vector<storage::CheckpointInfo>> ListCheckpoints() const;
  // Returns the pool exactly to checkpoint `tag`: everything after it, including leases
  // granted since, is dropped. Lease numbers and the durable sequence keep counting upward, so
  // a report from the abandoned future can never match a new lease (it is kStale). Query ids
  // and seqs, being part of the state, do restart from the checkpoint's: an id handed out in
  // the abandoned future may name a different query after the restore, so work still pending
  // from that future (teacher validations) must be dropped by the caller. NotFound for an
  // unknown tag; FailedPrecondition for a checkpoint of another config. On failure after the
  // switch the pool is closed (reopen it). A retry of request `rk`, one of the pool's last
  // storage::kMaxMarkerIds restores, is answered OK without restoring again.
  Status Restore(const std::string& tag, const RequestKey& rk = {});
  // Creates a new pool in `new_dir` from checkpoint `tag`, or from the current state when
  // nullopt. AlreadyExists when `new_dir` holds a pool.
  Status Fork(const std::string& new_dir, const std::optional<std::string>& tag) const;

  // XXH3-128 over the canonical state: every query's record, state and statistics, the
  // lineage, the config, the counters and the RNG. Excludes what does not describe the pool
  // (wall-clock times, lease numbers, the durable sequence), so equal operation sequences give
  // equal digests, across reopen and across Checkpoint + Restore. O(n); holds the pool's lock
  // only while it hashes the index and copies the statistics (about 50 ms for 1M queries; the
  // other records are read from a snapshot of the store).
  Result<Hash128> Digest() const;

  // The query's record, state and statistics. NotFound for an unknown id.
  Result<QueryInfo> Get(QueryId id) const;

  PoolStats Stats() const;
  // The highest operation sequence number that is durable (what responses carry). O(1).
  uint64_t durable_seq() const;
  // The rewards of the scored queries in LOW and HIGH, counted at each of the ascending
  // `upper_bounds` (cumulative), with their number and sum. O(n).
  heapa::RewardHistogram Rewards(std::span<const double> upper_bounds) const;

  // Checks that the in-memory index equals a rebuild from storage: waits for queued writes,
  // reads every state record and edge as Open does, and compares every entry, every set in
  // order, the counters, the RNG and the lineage. Corruption naming the first difference;
  // the pool keeps serving either way. O(n); holds the operation lock meanwhile.
  Status VerifyIndex() const;
  PoolConfig config() const;

  // Flushes and closes the store; later mutations fail with Unavailable. Idempotent.
  Status Close();

  // Pipelined durability, for a server: mutations that queue their batches and return at
  // once, waited for together (index/pool_deferred.h).
  class DeferredDurability;

  // A canonical view of the index for tests: ids of each set in its order, and the counters.
  struct Snapshot {
    std::vector<QueryId> low, high, cold, in_flight, archived, pending;
    storage::CountersRecord counters;
    friend bool operator==(const Snapshot&, const Snapshot&) = default;
  };
  Snapshot TEST_Snapshot() const;
  static Snapshot SnapshotOf(const index::FrontierIndex& ix);
  // Lets a test change the live index behind the store's back (to test VerifyIndex).
  void TEST_MutateIndex(const std::function<void(index::FrontierIndex&)>& fn);
  // Likewise for the statistics held in memory.
  void TEST_MutateStats(const std::function<void(index::StatsTable&)>& fn);
  // Makes every store write fail with `error` (OK: succeed again), to test the failure path;
  // with `after_writing`, each write fails once it is durable (Store::TEST_FailWrites).
  void TEST_FailWrites(const Status& error, bool after_writing = false);
  // How many clients' highest request ids the pool keeps in memory (at most kTrackedClients).
  size_t TEST_TrackedClients() const;
  // Tracks no more than `limit` clients from now on (kTrackedClients unless set).
  void TEST_LimitTrackedClients(size_t limit);
  // Runs `hook` in every Sample with texts between its write and its read, without the lock.
  void TEST_SetContentReadHook(std::function<void()> hook);

 private:
  Pool(const std::string& dir, const PoolOptions& options, std::unique_ptr<storage::Store> store,
       const storage::ConfigRecord& config);

  static storage::StoreOptions StoreOptionsFor(const PoolOptions& options);
  // Opens the live store of `dir` (creating the pool when asked).
  static Result<std::unique_ptr<storage::Store>> OpenStore(const std::string& dir,
                                                           const PoolOptions& options,
                                                           bool* created);
  // What a strict scan of the store gives: the index, the lineage, the children's difficulty,
  // the statistics.
  struct LoadedIndex {
    std::unique_ptr<index::FrontierIndex> ix;
    index::LineageGraph lineage;
    std::unordered_map<uint64_t, double> child_difficulty;
    storage::StateLogPosition states;
    index::StatsTable stats;
    storage::StateLogPosition stats_position;
  };
  // Reads counters, states, edges and statistics from store_. REQUIRES: mu_ held, nothing
  // queued.
  Status LoadIndex(LoadedIndex* out) const;
  // Replaces the index with LoadIndex's and starts a fresh committer. REQUIRES: mu_ held.
  Status Rebuild();
  // After a failed write: closes the store and opens it again, read-write when it can (OK),
  // else read-only to keep serving reads (the read-write error is returned); then rebuilds.
  // An error with store_ reset means nothing could be opened. REQUIRES: mu_ and admin_mu_.
  Status ReopenStore();
  // The tail of a Restore, and of its resend after that tail failed: makes the LIVE switch to
  // generation `db` durable, removes the stale generations (best effort), opens `db` and
  // rebuilds. On error the pool is closed. REQUIRES: mu_ and admin_mu_, store_ closed.
  Status OpenSwitched(const std::string& db);
  // Adds what committer_ (and with `store`, store_) counted to the retired_ counters, before
  // they are replaced. REQUIRES: mu_ held.
  void RetireCounters(bool store);
  // The figures of Stats that the index holds. REQUIRES: mu_ held, ix_ set.
  void FillIndexStats(PoolStats* out) const;
  index::NodeValue RefreshValue(uint64_t id) const;
  // A child's policy difficulty (1 for queries without parents).
  double ChildDifficulty(uint64_t id) const;
  // True when `lease` was granted in a future a Restore abandoned. REQUIRES: mu_.
  bool Abandoned(uint64_t lease) const;
  index::RefreshOptions ConfiguredRefresh() const;
  int64_t NowMs() const;
  // OK when the pool may write: not closed, not degraded, or degraded but the store resumed
  // (see PoolOptions::resume_interval_ms). REQUIRES: mu_ held.
  Status CheckWritable();
  // Adds the touched entries' states and the counters to `batch`, commits the index, queues
  // the batch, and waits, without mu_, until it is durable (or hands the wait to this
  // thread's DeferredDurability). On a failed write: UnknownOutcome (see AfterFailedWrite).
  // REQUIRES: `lock` holds mu_ and a transaction is open; returns with `lock` released.
  Status CommitBatch(std::unique_lock<std::mutex>& lock, storage::Batch* batch);
  // After a Sample whose texts could not be read: returns those of `sampled` still in flight
  // under `lease` to the pool, as an expired lease would, and deletes the Sample's stored
  // result (request `rk`), so that a retry samples anew instead of answering with the released
  // leases; in a batch of its own. Best effort: when the pool cannot write, the lease expires
  // as usual (and a retry gets the stored result). REQUIRES: mu_ not held.
  void ReleaseLease(LeaseId lease, const std::vector<SampledQuery>& sampled, const RequestKey& rk);
  // CommitBatch for a Sample with texts, which are then read into *out without mu_ (the
  // record of a sampled query never changes: Validate rewrites only PENDING ones, never
  // sampled): other operations on the pool go on meanwhile. Under a DeferredDurability scope
  // the read comes before the deferred wait, else after the write. A failed write gives
  // UnknownOutcome as CommitBatch; a failed read returns its error after ReleaseLease.
  // REQUIRES: as CommitBatch; returns with `lock` released.
  Status CommitAndReadContent(std::unique_lock<std::mutex>& lock, storage::Batch* batch,
                              const RequestKey& rk, std::vector<SampledQuery>* out);
  // Waits until operation `seq` is durable (or hands that wait to this thread's
  // DeferredDurability); returns with `lock` released. REQUIRES: `lock` holds mu_.
  Status AwaitDurable(std::unique_lock<std::mutex>& lock, uint64_t seq);
  // For a mutation that changed nothing: rolls the transaction back, then waits as
  // AwaitDurable for every operation applied so far, since its answer (a duplicate report,
  // an empty sample) may rest on one whose write is still pending and could fail. Returns
  // with `lock` released. REQUIRES: `lock` holds mu_ and a transaction is open.
  Status FinishUnchanged(std::unique_lock<std::mutex>& lock);
  // Waits for operation `seq` to be durable, releasing `lock` meanwhile and taking it again.
  // A failed write: UnknownOutcome, through FailedWrite. REQUIRES: `lock` holds mu_.
  Status WaitDurable(std::unique_lock<std::mutex>& lock, uint64_t seq);
  // What a mutation returns when its write, through committer `from`, failed: UnknownOutcome,
  // after AfterFailedWrite. The caller keeps `from` alive meanwhile (the pointer is compared
  // with the pool's committer). REQUIRES: mu_ held.
  Status FailedWrite(const Status& error, const storage::Committer* from);
  // The first caller after a failed write degrades the pool and rebuilds the index from the
  // store (if that fails too the pool closes), and gets true. A failure of a committer the pool
  // no longer uses changes nothing (false): the pool replaced it by rebuilding from the store
  // after that failure, by a restore or by closing, and may be writable again since.
  // REQUIRES: mu_ held.
  bool AfterFailedWrite(const Status& error, const storage::Committer* from);
  // Inside a transaction: lease expiry, archive reinsertion, in-flight recovery.
  size_t ExpireLeases(int64_t now_ms);
  // Reinserts the archive, refreshed per config; stages statistics (PutStats). On error the
  // caller rolls back.
  Result<size_t> ReinsertArchive();
  void ReturnToPool(index::Entry& e);
  // Dedup of a batch of new content: each item resolves to an existing query (created=false,
  // its id), to the first copy within the batch (created=false, id filled in later by
  // FinishDuplicates), or is new (created=true). REQUIRES: mu_ held.
  struct ContentRef {
    std::string_view prompt;
    std::string_view answer;
  };
  Status ResolveDuplicates(size_t n, const std::function<ContentRef(size_t)>& content,
                           std::vector<InsertResult>* results,
                           std::vector<storage::Hash128>* hashes) const;
  // Inside the transaction, after ids are assigned: fills in the ids of in-batch copies and
  // counts duplicates.
  void FinishDuplicates(std::vector<InsertResult>* results,
                        const std::vector<storage::Hash128>& hashes);
  // The stored result of request `rk`; nullopt when rk.request is 0 or nothing is stored.
  // A result whose batch is not yet durable is returned once it is (`lock` is released
  // meanwhile). InvalidArgument when the key was used for another kind of operation.
  // REQUIRES: `lock` holds mu_.
  Result<std::optional<storage::OpResultRecord>> LoadResult(std::unique_lock<std::mutex>& lock,
                                                            const RequestKey& rk,
                                                            storage::OpKind kind);
  // How every mutation begins: CheckWritable, then LoadResult, in that order. The check may
  // rebuild the index from a reopened store, whose WAL can hold the batch of a write that
  // reported failure, with this request's result: a lookup before it could miss the result
  // and apply the request twice. A stored result is returned even while the pool is
  // read-only; nullopt means "apply it" (the pool is writable). REQUIRES: `lock` holds mu_.
  Result<std::optional<storage::OpResultRecord>> BeginMutation(std::unique_lock<std::mutex>& lock,
                                                               const RequestKey& rk,
                                                               storage::OpKind kind);
  // Adds the result of request `rk` to `batch` (nothing when rk.request is 0), and retires
  // the client's results through RetiredThrough(rk.request) when the client's highest request
  // so far did not (see "Exactly once" above). REQUIRES: mu_ held.
  void StoreResult(const RequestKey& rk, const storage::OpResultRecord& rec, storage::Batch* batch);
  // Digest's first part: the config, counters and every query's state. REQUIRES: mu_ held.
  void DigestIndex(storage::DigestBuilder* digest) const;
  // Reads the query records of sampled queries into them, through `reader` (a copy of
  // committer_ taken under mu_; no lock needed).
  static Status ReadContent(const storage::Committer& reader, std::vector<SampledQuery>* out);
  // Stages the statistics of `id` (encoded in `scratch`): CommitBatch puts them in stats_ and
  // its batch (through stats_log_); a rollback (RollbackIndex) forgets them. REQUIRES: mu_
  // held, inside the index transaction.
  void PutStats(uint64_t id, const storage::StatsRecord& stats, std::string* scratch);
  // Rolls back the index transaction and drops the statistics PutStats staged in it.
  // REQUIRES: mu_ held, inside the index transaction.
  void RollbackIndex();

  const std::string dir_;
  const PoolOptions options_;
  const storage::ConfigRecord config_;

  mutable std::mutex admin_mu_;  // Checkpoint, Restore, Fork, Close; taken before mu_
  mutable std::mutex mu_;
  // guarded by mu_ (replaced under admin_mu_ too); shared with committer_, which keeps the
  // object alive (a closed store answers Unavailable) for reads that run without mu_.
  std::shared_ptr<storage::Store> store_;
  // Group commit in front of store_; all reads of records go through it. guarded by mu_ (the
  // pointer; the object is thread-safe and outlives its waiters through their shared_ptr).
  std::shared_ptr<storage::Committer> committer_;
  std::unique_ptr<index::FrontierIndex> ix_;               // guarded by mu_
  storage::StateLog state_log_;                            // guarded by mu_; ix_'s states
  storage::StatsLog stats_log_;                            // guarded by mu_; stats_
  index::LineageGraph lineage_;                            // guarded by mu_
  std::unordered_map<uint64_t, double> child_difficulty_;  // guarded by mu_; children only
  Status degraded_;                                        // guarded by mu_; OK while writable
  std::chrono::steady_clock::time_point next_resume_;      // guarded by mu_
  Status last_resume_;                                     // guarded by mu_
  // Guarded by mu_: above every lease granted in memory before a failed write. A rebuild
  // resets next_lease to the stored value, and a lease of the lost batch may still be named
  // (a Sample's release of its lease after a failed read); the resume's probe write and a
  // Restore store next_lease at or above it.
  uint64_t lease_floor_ = 0;
  // Guarded by mu_: for a client, a request id at or above every one whose result the store
  // or the committer holds. Its first request since the last rebuild reads the client's
  // highest 'R' key; StoreResult raises it. A request above it has no stored result, and
  // LoadResult skips the read (most requests: clients number them consecutively). At most
  // tracked_limit_ clients; the requests of others are always looked up.
  std::unordered_map<uint64_t, uint64_t> last_request_;
  size_t tracked_limit_ = kTrackedClients;  // guarded by mu_; TEST_LimitTrackedClients
  // Guarded by mu_: what replaced committers and stores counted (RetireCounters), so that
  // Stats' counters never go back.
  uint64_t retired_writes_ = 0, retired_batches_ = 0, retired_max_group_ = 0;
  uint64_t retired_wal_syncs_ = 0;
  // Guarded by mu_: the durable sequence of the last committer replaced, reported while the
  // pool has none (closed), so that a client never sees it go back.
  uint64_t retired_durable_seq_ = 0;
  // Guarded by mu_: a Restore left the pool closed after it closed the store (its reply was
  // an error); the next Restore (its resend) reopens the live generation first. Close clears
  // it: a pool closed on purpose stays closed.
  bool restore_unfinished_ = false;
  Status test_fail_writes_;  // guarded by mu_; applied to every store opened (TEST_FailWrites)
  bool test_fail_after_writing_ = false;  // guarded by mu_; likewise
  // Guarded by mu_: every query's statistics as committer_ serves them (store plus queued
  // batches); loaded by Rebuild.
  index::StatsTable stats_;
  // Guarded by mu_: the records PutStats staged for the mutation under way, which CommitBatch
  // moves into stats_ and its batch.
  index::StatsList staged_stats_;
  // Guarded by mu_: the requests (client, request id) of Samples reading their texts after
  // their write. A retry of one waits (LoadResult) until the read is done, and its lease
  // released if it failed, so that it never answers with leases about to be released.
  std::set<std::pair<uint64_t, uint64_t>> reading_requests_;
  std::condition_variable read_done_cv_;     // with mu_: reading_requests_ lost an entry
  std::function<void()> content_read_hook_;  // guarded by mu_; TEST_SetContentReadHook
};

}  // namespace heapa

#endif  // HEAPA_INDEX_POOL_H_
