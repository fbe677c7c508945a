// heapa::Pool: one durable HeaPA prompt pool. Start here.
//
// A Pool is safe for concurrent use from multiple threads without external synchronization.
// One mutex serializes operations; every mutation follows one write path:
//
//   validate -> compute the change on the index (in a transaction) -> write ONE synced
//   RocksDB batch (records, counters, RNG state) -> commit the index -> return.
//
// If the write fails, the transaction is rolled back before the lock is released, so no
// caller ever observes a state that is not durable; the pool then turns read-only
// ("degraded") and must be reopened. Nothing is acknowledged before it is durable.
//
// Semantics: ../shared/DESIGN.md §3 and heapa-algorithm.md §3 (placement, sampling, eviction).
#ifndef HEAPA_INDEX_POOL_H_
#define HEAPA_INDEX_POOL_H_

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "index/frontier.h"
#include "index/pool_options.h"
#include "index/types.h"
#include "storage/result.h"
#include "storage/status.h"

namespace heapa {

namespace storage {
class Batch;
class Store;
}  // namespace storage

class Pool final {
 public:
  // Opens the pool in `dir` and rebuilds its index with a strict scan of every state record.
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
  Result<std::vector<InsertResult>> Insert(std::span<const NewQuery> queries);

  // Leases up to req.count queries: expired leases return first; when fewer than the reinsert
  // threshold are pooled and the archive is not empty, the archive is reinserted; then the
  // COLD FIFO, then boundary (and in mixed mode, easiest) picks. All returned queries share
  // one new lease. An empty pool gives an empty vector. InvalidArgument for count 0 or above
  // max_batch, or a lease outside (0, max_lease_ms]. O(k log n).
  Result<std::vector<SampledQuery>> Sample(const SampleRequest& req);

  // Records the rollouts of sampled queries, in one batch; outcomes follow the input order.
  // In flight under that lease: statistics update, reward = the group mean, state ARCHIVED.
  // Same (id, lease) reported before: kDuplicate, no change. Lease expired and not granted
  // again since: kLate, statistics update only. NotFound for an unknown id;
  // FailedPrecondition for a lease the query does not hold; InvalidArgument for empty or
  // non-finite rewards or an id twice in one call. Any error: nothing is written.
  Result<std::vector<ReportOutcome>> Report(std::span<const ReportItem> items);

  // Returns every ARCHIVED query to LOW/HIGH by its reward, in an order shuffled by the pool
  // RNG (controlled reinsertion). Returns how many. O(A log n).
  Result<size_t> Reinsert();

  // Returns every IN_FLIGHT query to the pool now, as if its lease had expired: scored ones
  // are placed by their reward, unscored ones return to their old place in the COLD FIFO.
  // Returns how many. A later report for those leases is kLate.
  Result<size_t> Recover();

  // The query's record, state and statistics. NotFound for an unknown id.
  Result<QueryInfo> Get(QueryId id) const;

  PoolStats Stats() const;
  PoolConfig config() const;

  // Flushes and closes the store; later mutations fail with Unavailable. Idempotent.
  Status Close();

  // A canonical view of the index for tests: ids of each set in its order, and the counters.
  struct Snapshot {
    std::vector<QueryId> low, high, cold, in_flight, archived, pending;
    storage::CountersRecord counters;
    friend bool operator==(const Snapshot&, const Snapshot&) = default;
  };
  Snapshot TEST_Snapshot() const;

 private:
  Pool(const PoolOptions& options, std::unique_ptr<storage::Store> store,
       const storage::ConfigRecord& config);

  Status Rebuild();
  int64_t NowMs() const;
  Status CheckWritable() const;
  // Adds the touched entries' states and the counters to `batch`, writes it, then commits
  // the index; on a failed write rolls back and degrades the pool. REQUIRES: mu_ held and a
  // transaction open.
  Status CommitBatch(storage::Batch* batch);
  // Inside a transaction: lease expiry, archive reinsertion, in-flight recovery.
  size_t ExpireLeases(int64_t now_ms);
  size_t ReinsertArchive();
  void ReturnToPool(index::Entry& e);

  const PoolOptions options_;
  const storage::ConfigRecord config_;

  mutable std::mutex mu_;
  std::unique_ptr<storage::Store> store_;  // guarded by mu_
  index::FrontierIndex ix_;                // guarded by mu_
  Status degraded_;                        // guarded by mu_; OK while writable
};

}  // namespace heapa

#endif  // HEAPA_INDEX_POOL_H_
