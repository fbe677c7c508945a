// heapa::testing::ModelPool: a reference model of the pool semantics for differential tests.
//
// Written from the specification (heapa-algorithm.md §3.1-3.4, DESIGN.md §3, and the two
// deviations documented in index/placement.h), not from the production code. It keeps one
// record per query in a vector and finds every extreme by a linear scan, so that each rule
// reads like the spec: no trees, no lazy deletion, no transactions, no storage.
//
// It draws from the same seeded heapa::index::Rng as the pool, in the same places (boundary
// choice and reinsertion shuffle), so the exact ids a Pool returns can be compared with it.
//
// Thread safety: none.
#ifndef HEAPA_TESTS_TESTUTIL_MODEL_POOL_H_
#define HEAPA_TESTS_TESTUTIL_MODEL_POOL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "index/pool_options.h"
#include "index/rng.h"
#include "index/types.h"

namespace heapa::testing {

class ModelPool {
 public:
  // Where a query is. kOut: taken out of its set inside the current call (a sampling
  // candidate or a query being moved); never visible between calls.
  enum class Where : uint8_t { kCold, kLow, kHigh, kInFlight, kArchived, kEvicted, kOut };

  struct Query {
    QueryId id = 0;
    Where where = Where::kEvicted;
    Where origin = Where::kCold;  // while kOut: the set it was taken from
    bool has_reward = false;
    double reward = 0;
    uint64_t seq = 0;
    LeaseId lease = 0;  // the last lease granted; 0: never sampled
    int64_t deadline_ms = 0;
    std::vector<LeaseId> reported;  // the leases of every applied or late report
  };

  // The ids of each set in the pool's canonical order (see Pool::TEST_Snapshot).
  struct View {
    std::vector<QueryId> low, high, cold, in_flight, archived;
  };

  // The counters the pool keeps (durable_seq, a count of writes, is not modelled).
  struct Counters {
    uint64_t next_id = 1, next_seq = 1, next_lease = 1;
    uint64_t total_added = 0, total_duplicates = 0, total_sampled = 0, total_evicted = 0;
    uint64_t total_reports = 0, total_reinserted = 0, total_expired = 0;
  };

  // `any_earlier_duplicate`: a report naming ANY lease reported before for that query is
  // kDuplicate, as pool.h and DESIGN.md §3 say. false: only the LAST reported lease is, and an
  // older one is FailedPrecondition (a lease the query no longer holds), which is what the
  // pool implements today (it keeps only StatsRecord::last_report_lease).
  explicit ModelPool(const PoolConfig& config, bool any_earlier_duplicate = true);

  // The public operations, with the semantics of index/pool.h. Only prompt, answer and reward
  // of a NewQuery matter. Sample leaves SampledQuery::query empty.
  std::vector<InsertResult> Insert(const std::vector<NewQuery>& queries);
  std::vector<SampledQuery> Sample(uint32_t count, int64_t lease_ms, int64_t now_ms);
  // In flight under the lease: kApplied, ARCHIVED with the mean reward. Holding the lease but
  // no longer in flight (expired by a Sample, or recovered): kLate. Expiry is lazy: past its
  // deadline a query stays in flight, and reportable, until the next Sample. nullopt: an item
  // names a lease its query does not hold (and did not report), so the pool must refuse the
  // whole call with FailedPrecondition and change nothing. REQUIRES: known ids, each once.
  std::optional<std::vector<ReportOutcome>> Report(const std::vector<ReportItem>& items);
  size_t Reinsert();
  size_t Recover();

  View Snapshot() const;
  const Counters& counters() const { return counters_; }
  const index::Rng& rng() const { return rng_; }
  const std::vector<Query>& queries() const { return queries_; }  // index = id - 1
  size_t Count(Where where) const;
  std::optional<double> LowMaxReward() const;
  std::optional<double> HighMinReward() const;

  // |LOW| - round_half_even(low_fraction * (|LOW| + |HIGH|)) now.
  int64_t Imbalance() const;
  // A bound on |Imbalance()| after the last public call, derived from the operations the
  // call performed only (see the .cc): the pool's imbalance must not exceed it either.
  int64_t imbalance_bound() const { return imbalance_bound_; }

 private:
  Query& Q(QueryId id) { return queries_[id - 1]; }
  size_t Pooled() const;
  // The extremes, by linear scan; 0 when the set is empty. Ties go to the smallest seq.
  QueryId LowMax() const;
  QueryId LowMin() const;
  QueryId HighMin() const;
  QueryId HighMax() const;
  QueryId ColdFront() const;
  QueryId Extreme(Where where, bool largest_reward) const;
  std::vector<QueryId> Ids(Where where) const;  // ascending id

  void TakeOut(QueryId id);                 // from its set to kOut, remembering the origin
  void PutScored(QueryId id, Where where);  // into LOW or HIGH with a fresh seq
  void Evict(QueryId id);
  bool GoesHigh(double reward) const;
  void Rebalance();
  void EvictExtreme();
  void EvictForCold();
  void EvictForScored();
  void EvictToCapacity();
  void Add(QueryId id, bool keep_cold_seq);
  void ReturnToPool(QueryId id);
  size_t ExpireLeases(int64_t now_ms);
  size_t ReinsertArchive();
  std::vector<QueryId> InFlightByDeadline() const;
  std::vector<QueryId> PopCandidates(size_t take);
  std::vector<QueryId> SampleMedium(size_t k);
  void StartCall() { imbalance_bound_ = Imbalance() < 0 ? -Imbalance() : Imbalance(); }

  const PoolConfig config_;
  index::Rng rng_;
  Counters counters_;
  std::vector<Query> queries_;
  std::map<std::pair<std::string, std::string>, QueryId> dedup_;
  const bool any_earlier_duplicate_;
  int64_t imbalance_bound_ = 0;
};

// The pool's state enum for a model location. REQUIRES: where != kOut.
QueryState ToState(ModelPool::Where where);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_MODEL_POOL_H_
