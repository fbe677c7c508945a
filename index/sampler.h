// The HeaPA sampler (heapa-algorithm.md §3.4): cold first, then boundary ("medium") sampling
// around the low_fraction quantile, optionally mixed with the easiest HIGH items.
//
// Sampled entries leave their sets: Sample() returns them detached, and the caller leases
// them (IN_FLIGHT) in the same transaction. Works on an open FrontierIndex transaction;
// O(k log n).
//
// Thread safety: none; the pool's lock guards the index.
#ifndef HEAPA_INDEX_SAMPLER_H_
#define HEAPA_INDEX_SAMPLER_H_

#include <cstdint>
#include <vector>

#include "index/frontier.h"
#include "index/placement.h"
#include "storage/records.h"

namespace heapa::index {

class Sampler {
 public:
  Sampler(FrontierIndex* ix, Placement* placement, const storage::ConfigRecord& config)
      : ix_(ix), placement_(placement), config_(config) {}

  // Takes up to k queries out of COLD + LOW + HIGH, in the reference's order: the COLD FIFO
  // prefix, then (mixed mode) the easiest HIGH items in descending reward, then the boundary
  // picks in RNG order. Each returned entry is detached and keeps in `state` the set it came
  // from. Fewer than k only when the pool holds fewer.
  std::vector<Entry*> Sample(uint32_t k);

  // _sample_medium_k: pops min(2k, n) boundary candidates alternating HIGH-min / LOW-max,
  // keeps k of them uniformly at random, and returns the rest to their own side with a fresh
  // seq (in pop order), then rebalances.
  std::vector<Entry*> SampleMedium(uint32_t k);

 private:
  std::vector<Entry*> PopCandidates(size_t take);

  FrontierIndex* ix_;
  Placement* placement_;
  const storage::ConfigRecord& config_;
};

}  // namespace heapa::index

#endif  // HEAPA_INDEX_SAMPLER_H_
