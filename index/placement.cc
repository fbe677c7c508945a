#include "index/placement.h"

#include <algorithm>
#include <cmath>

#include "storage/check.h"

namespace heapa::index {

int64_t RoundHalfEven(double x) {
  const double floor = std::floor(x);
  const double diff = x - floor;
  int64_t r = static_cast<int64_t>(floor);
  if (diff > 0.5 || (diff == 0.5 && (r % 2 != 0))) ++r;
  return r;
}

void Placement::PushLow(Entry& e) {
  HEAPA_CHECK(e.has_reward);
  e.seq = ix_->TakeSeq();
  ix_->Attach(e, QueryState::kLow);
}

void Placement::PushHigh(Entry& e) {
  HEAPA_CHECK(e.has_reward);
  e.seq = ix_->TakeSeq();
  ix_->Attach(e, QueryState::kHigh);
}

bool Placement::GoesHigh(double reward) const {
  if (!ix_->high().empty()) return reward > ix_->HighMinReward();
  return ix_->low().empty() || reward >= ix_->LowMaxReward();
}

void Placement::Rebalance() {
  auto& low = ix_->low();
  auto& high = ix_->high();
  const int64_t total = static_cast<int64_t>(low.size() + high.size());
  if (total == 0) return;
  const int64_t target = RoundHalfEven(config_.low_fraction * static_cast<double>(total));
  const int64_t cur = static_cast<int64_t>(low.size());
  if (std::llabs(cur - target) <= 1) return;
  if (cur < target) {
    int64_t moves = std::min<int64_t>({target - cur, static_cast<int64_t>(high.size()), 4});
    while (moves-- > 0) {
      Entry& e = ix_->HighMin();
      ix_->Detach(e);
      PushLow(e);
    }
  } else {
    int64_t moves = std::min<int64_t>({cur - target, static_cast<int64_t>(low.size()), 4});
    while (moves-- > 0) {
      Entry& e = ix_->LowMax();
      ix_->Detach(e);
      PushHigh(e);
    }
  }
}

void Placement::Evict(Entry& e) {
  ix_->Detach(e);
  ix_->Attach(e, QueryState::kEvicted);
  ++ix_->counters().total_evicted;
}

void Placement::EvictExtreme() {
  auto& low = ix_->low();
  auto& high = ix_->high();
  if (low.empty() && high.empty()) {
    if (!ix_->cold().empty()) Evict(ix_->ColdFront());
    return;
  }
  const int64_t target =
      RoundHalfEven(config_.low_fraction * static_cast<double>(low.size() + high.size()));
  const bool low_over = static_cast<int64_t>(low.size()) > target;
  if (high.empty() || (low_over && !low.empty())) {
    Evict(ix_->LowMin());  // the hardest query
  } else {
    Evict(ix_->HighMax());  // the easiest query
  }
}

void Placement::EvictForCold() {
  if (config_.eviction == storage::EvictionPolicy::kExtremes) return EvictExtreme();
  // Reference: the easiest HIGH item; else LOW's boundary item (heappop of the max-heap);
  // else the oldest cold item.
  if (!ix_->high().empty()) return Evict(ix_->HighMax());
  if (!ix_->low().empty()) return Evict(ix_->LowMax());
  if (!ix_->cold().empty()) return Evict(ix_->ColdFront());
}

void Placement::EvictForScored() {
  if (config_.eviction == storage::EvictionPolicy::kExtremes) return EvictExtreme();
  // Reference (_insert_when_full): the hardest LOW item, which may be the new one; else the
  // HIGH boundary item.
  if (!ix_->low().empty()) return Evict(ix_->LowMin());
  if (!ix_->high().empty()) return Evict(ix_->HighMin());
}

void Placement::Add(Entry& e, bool keep_cold_seq) {
  const bool full = ix_->pooled() >= config_.max_size;
  if (!e.has_reward) {
    if (full) EvictForCold();
    if (!keep_cold_seq) e.seq = ix_->TakeSeq();
    ix_->Attach(e, QueryState::kCold);
    return;
  }
  if (!full) {
    if (GoesHigh(e.reward)) {
      PushHigh(e);
    } else {
      PushLow(e);
    }
    Rebalance();
    return;
  }
  // Full and scored. The reference places a query into an empty LOW whatever its reward
  // (B9); the eviction right after removes it again, as the only (so hardest) LOW item.
  const bool reference = config_.eviction == storage::EvictionPolicy::kReference;
  if (reference && ix_->low().empty() && !ix_->high().empty()) {
    PushLow(e);
  } else if (GoesHigh(e.reward)) {
    PushHigh(e);
  } else {
    PushLow(e);
  }
  EvictForScored();
  Rebalance();
}

void Placement::EvictOneToCapacity() {
  if (config_.eviction == storage::EvictionPolicy::kExtremes) return EvictExtreme();
  // Reference order (§3.3): hardest LOW first, then HIGH's boundary side, then oldest cold.
  if (!ix_->low().empty()) return Evict(ix_->LowMin());
  if (!ix_->high().empty()) return Evict(ix_->HighMin());
  Evict(ix_->ColdFront());
}

void Placement::EvictToCapacity() {
  while (ix_->pooled() > config_.max_size) EvictOneToCapacity();
}

}  // namespace heapa::index
