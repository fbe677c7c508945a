#include "index/rng.h"

#include <numeric>

#include "storage/check.h"

namespace heapa::index {
namespace {
constexpr uint64_t kMultiplier = 6364136223846793005ULL;
}

Rng Rng::FromSeed(uint64_t seed) {
  // The PCG reference seeding: stream from the seed, then two steps to mix.
  Rng r(0, (seed << 1u) | 1u);
  r.Next();
  r.state_ += seed ^ 0x9e3779b97f4a7c15ULL;
  r.Next();
  return r;
}

Rng Rng::FromState(uint64_t state, uint64_t inc) {
  HEAPA_CHECK((inc & 1) == 1);
  return Rng(state, inc);
}

uint32_t Rng::Next() {
  const uint64_t old = state_;
  state_ = old * kMultiplier + inc_;
  const uint32_t xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
  const uint32_t rot = static_cast<uint32_t>(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

uint32_t Rng::Uniform(uint32_t bound) {
  HEAPA_CHECK(bound > 0);
  uint64_t m = static_cast<uint64_t>(Next()) * bound;
  uint32_t low = static_cast<uint32_t>(m);
  if (low < bound) {
    const uint32_t threshold = (-bound) % bound;
    while (low < threshold) {
      m = static_cast<uint64_t>(Next()) * bound;
      low = static_cast<uint32_t>(m);
    }
  }
  return static_cast<uint32_t>(m >> 32);
}

std::vector<uint32_t> Rng::Choose(uint32_t n, uint32_t k) {
  if (k > n) k = n;
  std::vector<uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  for (uint32_t i = 0; i < k; ++i) {
    const uint32_t j = i + Uniform(n - i);
    std::swap(idx[i], idx[j]);
  }
  idx.resize(k);
  return idx;
}

}  // namespace heapa::index
