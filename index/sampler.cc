#include "index/sampler.h"

#include <algorithm>

namespace heapa::index {

std::vector<Entry*> Sampler::PopCandidates(size_t take) {
  std::vector<Entry*> out;
  out.reserve(take);
  bool want_high = true;
  while (take > 0 && !(ix_->low().empty() && ix_->high().empty())) {
    Entry* e = nullptr;
    if (want_high && !ix_->high().empty()) {
      e = &ix_->HighMin();
    } else if (!want_high && !ix_->low().empty()) {
      e = &ix_->LowMax();
    } else if (!ix_->high().empty()) {
      e = &ix_->HighMin();
    } else {
      e = &ix_->LowMax();
    }
    ix_->Detach(*e);
    out.push_back(e);
    --take;
    want_high = !want_high;
  }
  return out;
}

std::vector<Entry*> Sampler::SampleMedium(uint32_t k) {
  const size_t n = ix_->low().size() + ix_->high().size();
  if (k == 0 || n == 0) return {};
  const size_t ak = std::min<size_t>(k, n);
  if (ak >= n) {
    std::vector<Entry*> all = PopCandidates(n);
    placement_->Rebalance();
    return all;
  }
  std::vector<Entry*> candidates = PopCandidates(std::min(2 * ak, n));
  const std::vector<uint32_t> chosen_idx =
      ix_->rng().Choose(static_cast<uint32_t>(candidates.size()),
                        static_cast<uint32_t>(std::min(ak, candidates.size())));
  std::vector<bool> chosen(candidates.size(), false);
  for (uint32_t i : chosen_idx) chosen[i] = true;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (chosen[i]) continue;
    Entry& e = *candidates[i];
    if (e.state == QueryState::kHigh) {
      placement_->PushHigh(e);
    } else {
      placement_->PushLow(e);
    }
  }
  placement_->Rebalance();
  std::vector<Entry*> out;
  out.reserve(chosen_idx.size());
  for (uint32_t i : chosen_idx) out.push_back(candidates[i]);
  return out;
}

std::vector<Entry*> Sampler::Sample(uint32_t k) {
  std::vector<Entry*> out;
  const size_t size = ix_->pooled();
  if (k == 0 || size == 0) return out;
  const size_t actual_k = std::min<size_t>(k, size);
  out.reserve(actual_k);
  while (out.size() < actual_k && !ix_->cold().empty()) {
    Entry& e = ix_->ColdFront();
    ix_->Detach(e);
    out.push_back(&e);
  }
  const size_t need = actual_k - out.size();
  if (need == 0) return out;
  std::vector<Entry*> medium;
  if (config_.sampling == storage::SamplingMode::kMixed) {
    size_t easy = 0;
    while (easy < need / 2 && !ix_->high().empty()) {
      Entry& e = ix_->HighMax();
      ix_->Detach(e);
      out.push_back(&e);
      ++easy;
    }
    medium = SampleMedium(static_cast<uint32_t>(need - easy));
    placement_->Rebalance();
  } else {
    medium = SampleMedium(static_cast<uint32_t>(need));
  }
  out.insert(out.end(), medium.begin(), medium.end());
  return out;
}

}  // namespace heapa::index
