// The HeaPA placement rules (heapa-algorithm.md §3.1-3.3): where a query goes when it enters
// the pool, how LOW and HIGH are kept near the low_fraction quantile, and whom capacity evicts.
//
// Every function works on an open FrontierIndex transaction and is O(log n) per moved query.
// Deviations from the verl reference, each deliberate:
//  - Ties in eviction break by the smallest seq (B1), not by heap-array position.
//  - A scored query arriving while HIGH is empty goes HIGH only if its reward is at least the
//    LOW maximum; the reference sends it HIGH unconditionally, which can break invariant 2
//    (max LOW <= min HIGH). With HIGH non-empty the rules are the reference's.
//
// Thread safety: none; the pool's lock guards the index.
#ifndef HEAPA_INDEX_PLACEMENT_H_
#define HEAPA_INDEX_PLACEMENT_H_

#include <cstdint>

#include "index/frontier.h"
#include "storage/records.h"

namespace heapa::index {

// Python's round(): half to even (2.5 -> 2, 3.5 -> 4). B3.
int64_t RoundHalfEven(double x);

class Placement {
 public:
  Placement(FrontierIndex* ix, const storage::ConfigRecord& config) : ix_(ix), config_(config) {}

  // Adds a detached entry to the pool by the add_many rules (§3.2), evicting per policy when
  // the pool is full. Unscored entries join the COLD FIFO with a fresh seq, or with their
  // current seq when `keep_cold_seq` (a recovered lease returns to its old place in line).
  void Add(Entry& e, bool keep_cold_seq = false);

  // Evicts until COLD + LOW + HIGH <= max_size (§3.3 for the reference policy).
  void EvictToCapacity();

  // The local rebalance: at most 4 moves toward round_half_even(low_fraction * (|LOW|+|HIGH|)),
  // only when the imbalance exceeds 1.
  void Rebalance();

  // LOW gets `e` with a fresh seq; HIGH likewise. REQUIRE: e detached and scored.
  void PushLow(Entry& e);
  void PushHigh(Entry& e);

  // The rule of the not-full insert (see the header comment for the empty-HIGH case).
  bool GoesHigh(double reward) const;

 private:
  void Evict(Entry& e);
  void EvictForCold();        // full pool, unscored arrival
  void EvictForScored();      // full pool, scored arrival (after placement)
  void EvictExtreme();        // policy `extremes`
  void EvictOneToCapacity();  // one step of EvictToCapacity

  FrontierIndex* ix_;
  const storage::ConfigRecord& config_;
};

}  // namespace heapa::index

#endif  // HEAPA_INDEX_PLACEMENT_H_
