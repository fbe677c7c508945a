// A FrontierIndex with Placement and Sampler over a config, for the rule tests of §3.
#ifndef HEAPA_TESTS_TESTUTIL_FRONTIER_FIXTURE_H_
#define HEAPA_TESTS_TESTUTIL_FRONTIER_FIXTURE_H_

#include <optional>
#include <vector>

#include "index/frontier.h"
#include "index/placement.h"
#include "index/sampler.h"

namespace heapa::testing {

struct FrontierFixture {
  explicit FrontierFixture(uint64_t max_size = 1000, double low_fraction = 0.5,
                           storage::EvictionPolicy eviction = storage::EvictionPolicy::kReference,
                           storage::SamplingMode sampling = storage::SamplingMode::kMedium,
                           uint64_t seed = 1) {
    config.max_size = max_size;
    config.low_fraction = low_fraction;
    config.eviction = eviction;
    config.sampling = sampling;
    ix.rng() = index::Rng::FromSeed(seed);
  }

  // Adds one query by the insert rules in its own transaction; returns its id.
  uint64_t Add(std::optional<double> reward) {
    ix.Begin();
    index::Entry& e = ix.Create();
    e.has_reward = reward.has_value();
    e.reward = reward.value_or(0);
    placement.Add(e);
    placement.EvictToCapacity();
    const uint64_t id = e.id;
    ix.Commit();
    return id;
  }

  // Samples k in a transaction; sampled entries are leased (IN_FLIGHT) like the pool does.
  std::vector<uint64_t> Sample(uint32_t k) {
    ix.Begin();
    std::vector<uint64_t> ids;
    for (index::Entry* e : sampler.Sample(k)) {
      ids.push_back(e->id);
      e->prev_state = e->state;
      e->lease = 1;
      ix.Attach(*e, storage::QueryState::kInFlight);
    }
    ix.Commit();
    return ids;
  }

  template <typename Set>
  static std::vector<double> Rewards(const Set& set) {
    std::vector<double> out;
    for (const index::Entry& e : set) out.push_back(e.reward);
    return out;
  }
  static std::vector<uint64_t> Ids(const index::IdBitmap& ids) {
    return std::vector<uint64_t>(ids.begin(), ids.end());
  }
  // Archives the in-flight `ids` (a report's move) in one transaction.
  void Archive(const std::vector<uint64_t>& ids) {
    ix.Begin();
    for (uint64_t id : ids) {
      index::Entry& e = *ix.Find(id);
      ix.Detach(e);
      ix.Attach(e, storage::QueryState::kArchived);
    }
    ix.Commit();
  }
  template <typename Set>
  static std::vector<uint64_t> Ids(const Set& set) {
    std::vector<uint64_t> out;
    for (const index::Entry& e : set) out.push_back(e.id);
    return out;
  }

  storage::ConfigRecord config;
  index::FrontierIndex ix;
  index::Placement placement{&ix, config};
  index::Sampler sampler{&ix, &placement, config};
};

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_FRONTIER_FIXTURE_H_
