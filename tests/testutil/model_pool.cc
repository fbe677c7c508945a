#include "tests/testutil/model_pool.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace heapa::testing {
namespace {

using Where = ModelPool::Where;

// Python's round(), half to even (B3). std::nearbyint rounds to nearest with ties to even
// in the default floating-point environment, which no test changes.
int64_t PyRound(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

bool Scored(Where w) { return w == Where::kLow || w == Where::kHigh; }

}  // namespace

QueryState ToState(Where where) {
  static constexpr QueryState kStates[] = {QueryState::kCold,     QueryState::kLow,
                                           QueryState::kHigh,     QueryState::kInFlight,
                                           QueryState::kArchived, QueryState::kEvicted};
  return kStates[static_cast<size_t>(where)];
}

ModelPool::ModelPool(const PoolConfig& config, bool any_earlier_duplicate)
    : config_(config),
      rng_(index::Rng::FromSeed(config.rng_seed)),
      any_earlier_duplicate_(any_earlier_duplicate) {}

size_t ModelPool::Count(Where where) const {
  size_t n = 0;
  for (const Query& q : queries_) n += q.where == where ? 1 : 0;
  return n;
}

size_t ModelPool::Pooled() const {
  return Count(Where::kCold) + Count(Where::kLow) + Count(Where::kHigh);
}

QueryId ModelPool::Extreme(Where where, bool largest_reward) const {
  const Query* best = nullptr;
  for (const Query& q : queries_) {
    if (q.where != where) continue;
    if (best == nullptr) {
      best = &q;
      continue;
    }
    const bool better = largest_reward ? q.reward > best->reward : q.reward < best->reward;
    if (better || (q.reward == best->reward && q.seq < best->seq)) best = &q;
  }
  return best == nullptr ? 0 : best->id;
}

QueryId ModelPool::LowMax() const { return Extreme(Where::kLow, true); }
QueryId ModelPool::LowMin() const { return Extreme(Where::kLow, false); }
QueryId ModelPool::HighMin() const { return Extreme(Where::kHigh, false); }
QueryId ModelPool::HighMax() const { return Extreme(Where::kHigh, true); }

QueryId ModelPool::ColdFront() const {
  const Query* best = nullptr;
  for (const Query& q : queries_) {
    if (q.where == Where::kCold && (best == nullptr || q.seq < best->seq)) best = &q;
  }
  return best == nullptr ? 0 : best->id;
}

std::optional<double> ModelPool::LowMaxReward() const {
  const QueryId id = LowMax();
  return id == 0 ? std::nullopt : std::optional<double>(queries_[id - 1].reward);
}

std::optional<double> ModelPool::HighMinReward() const {
  const QueryId id = HighMin();
  return id == 0 ? std::nullopt : std::optional<double>(queries_[id - 1].reward);
}

std::vector<QueryId> ModelPool::Ids(Where where) const {
  std::vector<QueryId> ids;
  for (const Query& q : queries_) {
    if (q.where == where) ids.push_back(q.id);  // ascending id
  }
  return ids;
}

int64_t ModelPool::Imbalance() const {
  const int64_t low = static_cast<int64_t>(Count(Where::kLow));
  const int64_t high = static_cast<int64_t>(Count(Where::kHigh));
  return low - PyRound(config_.low_fraction * static_cast<double>(low + high));
}

// ---- The imbalance bound.
//
// Let d = |LOW| - round(lf * (|LOW| + |HIGH|)). Adding or removing ONE scored query changes
// d by at most 1: lf * total moves by lf < 1 in the direction of total, so its rounding moves
// by 0 or 1 that way, while |LOW| moves by 1 that way if the query is LOW and by 0 if it is
// HIGH. A Rebalance either finds |d| <= 1 and does nothing, or moves min(|d|, 4) queries
// across (the side it takes from always holds at least |d|), leaving max(0, |d| - 4). So, U
// being an upper bound of |d|: each add or removal outside Rebalance makes it U + 1, and
// each Rebalance makes it U when U <= 1, else max(1, U - 4). Each call starts from the exact
// |d|. No constant bound holds after every call: unscored arrivals at a full pool evict from
// HIGH (reference policy) with no rebalance, and a boundary sample may take all its picks
// from one side (seeds reach |d| = 12 with pools of 20-60).

void ModelPool::TakeOut(QueryId id) {
  Query& q = Q(id);
  if (Scored(q.where)) ++imbalance_bound_;
  q.origin = q.where;
  q.where = Where::kOut;
}

void ModelPool::PutScored(QueryId id, Where where) {
  Query& q = Q(id);
  q.seq = counters_.next_seq++;
  q.where = where;
  ++imbalance_bound_;
}

void ModelPool::Evict(QueryId id) {
  Query& q = Q(id);
  if (Scored(q.where)) ++imbalance_bound_;
  q.where = Where::kEvicted;
  ++counters_.total_evicted;
}

// ---- Placement (§3.1-3.3).

// §3.2 not-full rule: HIGH when the reward beats the HIGH minimum (a tie goes LOW). With
// HIGH empty the reference always says HIGH; the deliberate deviation (placement.h) says
// HIGH only when the reward is at least the LOW maximum (or LOW is empty too).
bool ModelPool::GoesHigh(double reward) const {
  if (const std::optional<double> high_min = HighMinReward()) return reward > *high_min;
  const std::optional<double> low_max = LowMaxReward();
  return !low_max || reward >= *low_max;
}

// _rebalance_low_high(local_only=True), §3.1.
void ModelPool::Rebalance() {
  const int64_t low = static_cast<int64_t>(Count(Where::kLow));
  const int64_t high = static_cast<int64_t>(Count(Where::kHigh));
  const int64_t total = low + high;
  if (total > 0) {
    const int64_t target = PyRound(config_.low_fraction * static_cast<double>(total));
    if (std::llabs(low - target) > 1) {
      const bool to_low = low < target;
      int64_t moves = std::min<int64_t>({std::llabs(target - low), to_low ? high : low, 4});
      for (; moves > 0; --moves) {
        Query& q = Q(to_low ? HighMin() : LowMax());
        q.seq = counters_.next_seq++;
        q.where = to_low ? Where::kLow : Where::kHigh;
      }
    }
  }
  if (imbalance_bound_ > 1) imbalance_bound_ = std::max<int64_t>(1, imbalance_bound_ - 4);
}

// Policy `extremes` (B4 fix): the hardest LOW query when LOW is over its share
// (|LOW| > round(lf * scored)) or HIGH is empty, else the easiest HIGH; the oldest cold
// query only when nothing is scored.
void ModelPool::EvictExtreme() {
  const int64_t low = static_cast<int64_t>(Count(Where::kLow));
  const int64_t high = static_cast<int64_t>(Count(Where::kHigh));
  if (low + high == 0) {
    if (const QueryId id = ColdFront()) Evict(id);
    return;
  }
  const int64_t target = PyRound(config_.low_fraction * static_cast<double>(low + high));
  Evict(high == 0 || low > target ? LowMin() : HighMax());
}

// Full pool, unscored arrival (§3.2): the easiest HIGH, else LOW's boundary (its maximum),
// else the oldest cold query.
void ModelPool::EvictForCold() {
  if (config_.eviction == EvictionPolicy::kExtremes) return EvictExtreme();
  if (const QueryId id = HighMax()) return Evict(id);
  if (const QueryId id = LowMax()) return Evict(id);
  if (const QueryId id = ColdFront()) Evict(id);
}

// Full pool, scored arrival, after its placement (_insert_when_full): the hardest LOW (it
// may be the arrival itself), else HIGH's boundary (its minimum).
void ModelPool::EvictForScored() {
  if (config_.eviction == EvictionPolicy::kExtremes) return EvictExtreme();
  if (const QueryId id = LowMin()) return Evict(id);
  if (const QueryId id = HighMin()) Evict(id);
}

// §3.3: hardest LOW first, then HIGH's boundary side, then the oldest cold. (Unreachable
// while max_size is fixed: every Add evicts before it would overflow.)
void ModelPool::EvictToCapacity() {
  while (Pooled() > config_.max_size) {
    if (config_.eviction == EvictionPolicy::kExtremes) {
      EvictExtreme();
    } else if (const QueryId low = LowMin()) {
      Evict(low);
    } else if (const QueryId high = HighMin()) {
      Evict(high);
    } else {
      Evict(ColdFront());
    }
  }
}

// One item of add_many (§3.2). REQUIRES: the query is kOut.
void ModelPool::Add(QueryId id, bool keep_cold_seq) {
  const bool full = Pooled() >= config_.max_size;
  if (!Q(id).has_reward) {
    if (full) EvictForCold();
    if (!keep_cold_seq) Q(id).seq = counters_.next_seq++;
    Q(id).where = Where::kCold;
    return;
  }
  Where side = GoesHigh(Q(id).reward) ? Where::kHigh : Where::kLow;
  // B9: the reference's full path puts a query into an empty LOW whatever its reward.
  if (full && config_.eviction == EvictionPolicy::kReference && Count(Where::kLow) == 0 &&
      Count(Where::kHigh) > 0) {
    side = Where::kLow;
  }
  PutScored(id, side);
  if (full) EvictForScored();
  Rebalance();
}

void ModelPool::ReturnToPool(QueryId id) {
  TakeOut(id);
  Q(id).deadline_ms = 0;
  // Unscored: back to its old place in the COLD FIFO. Scored: placed by its reward.
  Add(id, /*keep_cold_seq=*/!Q(id).has_reward);
}

std::vector<QueryId> ModelPool::InFlightByDeadline() const {
  std::vector<QueryId> ids = Ids(Where::kInFlight);
  std::sort(ids.begin(), ids.end(), [this](QueryId a, QueryId b) {
    const int64_t da = queries_[a - 1].deadline_ms;
    const int64_t db = queries_[b - 1].deadline_ms;
    return da < db || (da == db && a < b);
  });
  return ids;
}

size_t ModelPool::ExpireLeases(int64_t now_ms) {
  size_t n = 0;
  for (QueryId id : InFlightByDeadline()) {
    if (queries_[id - 1].deadline_ms > now_ms) break;
    ReturnToPool(id);
    ++n;
  }
  counters_.total_expired += n;
  return n;
}

// _reinsert_all_trained (§4.4): the archive in id order, shuffled by the pool RNG, each
// added by the insert rules; then capacity.
size_t ModelPool::ReinsertArchive() {
  std::vector<QueryId> order = Ids(Where::kArchived);
  rng_.Shuffle(&order);
  for (QueryId id : order) {
    TakeOut(id);
    Add(id, /*keep_cold_seq=*/false);
  }
  EvictToCapacity();
  counters_.total_reinserted += order.size();
  return order.size();
}

// ---- Sampling (§3.4).

std::vector<QueryId> ModelPool::PopCandidates(size_t take) {
  std::vector<QueryId> out;
  bool want_high = true;
  while (take > 0 && Count(Where::kLow) + Count(Where::kHigh) > 0) {
    // The wanted side's boundary; when that side is empty, the other one's.
    const QueryId high = HighMin();
    const QueryId low = LowMax();
    const QueryId id = want_high ? (high != 0 ? high : low) : (low != 0 ? low : high);
    TakeOut(id);
    out.push_back(id);
    --take;
    want_high = !want_high;
  }
  return out;
}

std::vector<QueryId> ModelPool::SampleMedium(size_t k) {
  const size_t n = Count(Where::kLow) + Count(Where::kHigh);
  if (k == 0 || n == 0) return {};
  const size_t ak = std::min(k, n);
  if (ak >= n) {
    std::vector<QueryId> all = PopCandidates(n);
    Rebalance();
    return all;
  }
  const std::vector<QueryId> candidates = PopCandidates(std::min(2 * ak, n));
  const std::vector<uint32_t> chosen_idx =
      rng_.Choose(static_cast<uint32_t>(candidates.size()),
                  static_cast<uint32_t>(std::min(ak, candidates.size())));
  std::vector<bool> chosen(candidates.size(), false);
  for (uint32_t i : chosen_idx) chosen[i] = true;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!chosen[i]) PutScored(candidates[i], Q(candidates[i]).origin);
  }
  Rebalance();
  std::vector<QueryId> out;
  for (uint32_t i : chosen_idx) out.push_back(candidates[i]);
  return out;
}

// ---- Public operations.

std::vector<InsertResult> ModelPool::Insert(const std::vector<NewQuery>& queries) {
  StartCall();
  std::vector<InsertResult> results;
  for (const NewQuery& nq : queries) {
    const auto key = std::make_pair(nq.prompt, nq.answer);
    if (const auto it = dedup_.find(key); it != dedup_.end()) {
      results.push_back(InsertResult{it->second, false});
      ++counters_.total_duplicates;
      continue;
    }
    Query q;
    q.id = counters_.next_id++;
    q.where = Where::kOut;
    q.has_reward = nq.reward.has_value();
    q.reward = nq.reward.value_or(0);
    queries_.push_back(q);
    dedup_.emplace(key, q.id);
    Add(q.id, /*keep_cold_seq=*/false);
    ++counters_.total_added;
    results.push_back(InsertResult{q.id, true});
  }
  EvictToCapacity();
  return results;
}

std::vector<SampledQuery> ModelPool::Sample(uint32_t count, int64_t lease_ms, int64_t now_ms) {
  StartCall();
  ExpireLeases(now_ms);
  const size_t threshold = config_.reinsert_below > 0 ? config_.reinsert_below : count;
  if (Pooled() < threshold && Count(Where::kArchived) > 0) ReinsertArchive();

  std::vector<QueryId> picks;
  const size_t actual_k = std::min<size_t>(count, Pooled());
  while (picks.size() < actual_k && ColdFront() != 0) {
    picks.push_back(ColdFront());
    TakeOut(picks.back());
  }
  const size_t need = actual_k - picks.size();
  if (need > 0) {
    size_t easy = 0;
    if (config_.sampling == SamplingMode::kMixed) {
      for (; easy < need / 2 && HighMax() != 0; ++easy) {
        picks.push_back(HighMax());
        TakeOut(picks.back());
      }
    }
    const std::vector<QueryId> medium = SampleMedium(need - easy);
    if (config_.sampling == SamplingMode::kMixed) Rebalance();
    picks.insert(picks.end(), medium.begin(), medium.end());
  }

  std::vector<SampledQuery> out;
  if (picks.empty()) return out;
  const LeaseId lease = counters_.next_lease++;
  const int64_t deadline = now_ms + (lease_ms > 0 ? lease_ms : config_.default_lease_ms);
  for (QueryId id : picks) {
    Query& q = Q(id);
    SampledQuery& sq = out.emplace_back();
    sq.id = id;
    sq.lease = lease;
    sq.lease_deadline_ms = deadline;
    sq.from = ToState(q.origin);
    if (q.has_reward) sq.reward = q.reward;
    q.where = Where::kInFlight;
    q.lease = lease;
    q.deadline_ms = deadline;
  }
  counters_.total_sampled += picks.size();
  return out;
}

std::optional<std::vector<ReportOutcome>> ModelPool::Report(const std::vector<ReportItem>& items) {
  StartCall();
  std::vector<ReportOutcome> outcomes;
  for (const ReportItem& it : items) {
    const Query& q = Q(it.id);
    const bool duplicate =
        any_earlier_duplicate_
            ? std::find(q.reported.begin(), q.reported.end(), it.lease) != q.reported.end()
            : !q.reported.empty() && q.reported.back() == it.lease;
    if (duplicate) {
      outcomes.push_back(ReportOutcome::kDuplicate);
    } else if (it.lease < q.lease) {
      outcomes.push_back(ReportOutcome::kStale);  // leased again since
    } else if (q.lease != it.lease) {
      return std::nullopt;
    } else if (q.where == Where::kInFlight) {
      outcomes.push_back(ReportOutcome::kApplied);
    } else {
      outcomes.push_back(ReportOutcome::kLate);  // the lease expired (or was recovered)
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (outcomes[i] == ReportOutcome::kDuplicate || outcomes[i] == ReportOutcome::kStale) continue;
    Query& q = Q(items[i].id);
    ++counters_.total_reports;
    q.reported.push_back(items[i].lease);
    if (outcomes[i] != ReportOutcome::kApplied) continue;
    double sum = 0;
    for (double r : items[i].rewards) sum += r;
    q.has_reward = true;
    q.reward = sum / static_cast<double>(items[i].rewards.size());
    q.where = Where::kArchived;
    q.deadline_ms = 0;
  }
  return outcomes;
}

size_t ModelPool::Reinsert() {
  StartCall();
  return Count(Where::kArchived) == 0 ? 0 : ReinsertArchive();
}

size_t ModelPool::Recover() {
  StartCall();
  const std::vector<QueryId> ids = InFlightByDeadline();
  for (QueryId id : ids) ReturnToPool(id);
  return ids.size();
}

ModelPool::View ModelPool::Snapshot() const {
  const auto by_reward_seq = [this](QueryId a, QueryId b) {
    const Query& qa = queries_[a - 1];
    const Query& qb = queries_[b - 1];
    return qa.reward < qb.reward || (qa.reward == qb.reward && qa.seq < qb.seq);
  };
  View v{Ids(Where::kLow), Ids(Where::kHigh), Ids(Where::kCold), InFlightByDeadline(),
         Ids(Where::kArchived)};
  std::sort(v.low.begin(), v.low.end(), by_reward_seq);
  std::sort(v.high.begin(), v.high.end(), by_reward_seq);
  std::sort(v.cold.begin(), v.cold.end(),
            [this](QueryId a, QueryId b) { return queries_[a - 1].seq < queries_[b - 1].seq; });
  return v;
}

}  // namespace heapa::testing
