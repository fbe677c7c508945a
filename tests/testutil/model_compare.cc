#include "tests/testutil/model_compare.h"

#include <cmath>
#include <cstdlib>
#include <set>

namespace heapa::testing {

using Where = ModelPool::Where;

std::string Str(const std::optional<double>& r) {
  return r ? std::to_string(*r) : std::string("none");
}

std::string Describe(const std::vector<SampledQuery>& sampled) {
  std::ostringstream out;
  out.precision(17);
  for (const SampledQuery& s : sampled) {
    out << " " << s.id << "@" << s.lease << ":" << s.lease_deadline_ms << ":"
        << storage::QueryStateName(s.from) << ":";
    if (s.reward) {
      out << *s.reward;
    } else {
      out << "-";
    }
  }
  return out.str();
}

ModelComparison CompareWithModel(const Pool& pool, const ModelPool& model,
                                 const PoolConfig& config) {
  ModelComparison out;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) out.differences.push_back(what);
  };
  const Pool::Snapshot snap = pool.TEST_Snapshot();
  const ModelPool::View view = model.Snapshot();
  auto ids = [&](const char* set, const std::vector<QueryId>& got,
                 const std::vector<QueryId>& want) {
    expect(got == want, std::string(set) + ": pool " + Str(got) + " model " + Str(want));
  };
  ids("low", snap.low, view.low);
  ids("high", snap.high, view.high);
  ids("cold", snap.cold, view.cold);
  ids("in_flight", snap.in_flight, view.in_flight);
  ids("archived", snap.archived, view.archived);
  ids("pending", snap.pending, {});

  const storage::CountersRecord& c = snap.counters;
  const ModelPool::Counters& m = model.counters();
  const std::vector<uint64_t> got = {c.next_id,       c.next_seq,         c.next_lease,
                                     c.total_added,   c.total_duplicates, c.total_sampled,
                                     c.total_evicted, c.total_reports,    c.total_reinserted,
                                     c.total_expired, c.rng_state,        c.rng_inc};
  const std::vector<uint64_t> want = {m.next_id,       m.next_seq,          m.next_lease,
                                      m.total_added,   m.total_duplicates,  m.total_sampled,
                                      m.total_evicted, m.total_reports,     m.total_reinserted,
                                      m.total_expired, model.rng().state(), model.rng().inc()};
  expect(got == want,
         "counters (next id/seq/lease, added, duplicates, sampled, evicted, reports, "
         "reinserted, expired, rng state/inc): pool " +
             Str(got) + " model " + Str(want));

  const PoolStats st = pool.Stats();
  const std::vector<uint64_t> counts = {st.pooled,  st.cold,      st.low,
                                        st.high,    st.in_flight, st.archived,
                                        st.pending, st.rejected,  st.evicted};
  const auto n = [&](Where where) { return uint64_t{model.Count(where)}; };
  const std::vector<uint64_t> model_counts = {n(Where::kCold) + n(Where::kLow) + n(Where::kHigh),
                                              n(Where::kCold),
                                              n(Where::kLow),
                                              n(Where::kHigh),
                                              n(Where::kInFlight),
                                              n(Where::kArchived),
                                              0,
                                              0,
                                              n(Where::kEvicted)};
  expect(counts == model_counts && st.max_size == config.max_size,
         "Stats (pooled, cold, low, high, in_flight, archived, pending, rejected, evicted): "
         "pool " +
             Str(counts) + " model " + Str(model_counts));
  expect(st.low_max == model.LowMaxReward() && st.high_min == model.HighMinReward(),
         "frontier: pool " + Str(st.low_max) + "/" + Str(st.high_min) + " model " +
             Str(model.LowMaxReward()) + "/" + Str(model.HighMinReward()));
  expect(st.degraded.empty(), "degraded: " + st.degraded);

  // heapa-algorithm.md §2, on the pool's own state.
  // 1. Each id in at most one set; with the evicted ones, every id ever issued.
  std::set<QueryId> seen;
  size_t listed = 0;
  for (const auto* set : {&snap.low, &snap.high, &snap.cold, &snap.in_flight, &snap.archived}) {
    seen.insert(set->begin(), set->end());
    listed += set->size();
  }
  expect(seen.size() == listed, "invariant 1: an id is in two sets");
  expect(listed + st.evicted == snap.counters.next_id - 1, "invariant 1: ids unaccounted for");
  // 2. max LOW <= min HIGH. B9 only ever puts a query into an EMPTY LOW of a full pool, and
  // the eviction right after takes it out again (it is LOW's only, so hardest, query): no
  // exception is visible between calls.
  if (st.low_max && st.high_min) {
    expect(*st.low_max <= *st.high_min,
           "invariant 2: LOW max " + Str(st.low_max) + " > HIGH min " + Str(st.high_min));
  }
  // 3. Capacity.
  expect(st.pooled <= st.max_size, "invariant 3: pooled above max_size");
  // 4. |LOW| - round(lf * scored) is bounded by what this call did; see model_pool.cc
  // ("The imbalance bound") for the derivation. No constant bound holds after every call.
  const int64_t scored = static_cast<int64_t>(st.low + st.high);
  const int64_t target =
      static_cast<int64_t>(std::nearbyint(config.low_fraction * static_cast<double>(scored)));
  out.imbalance = std::llabs(static_cast<int64_t>(st.low) - target);
  expect(out.imbalance <= model.imbalance_bound() && std::llabs(model.Imbalance()) == out.imbalance,
         "invariant 4: imbalance " + std::to_string(out.imbalance) + " above the bound " +
             std::to_string(model.imbalance_bound()) + " or not the model's " +
             std::to_string(model.Imbalance()));
  return out;
}

}  // namespace heapa::testing
