// index::Rng: the pool's seeded, persistable random number generator (PCG32, XSH-RR).
//
// The whole generator state is two u64 words, stored in the counters record by every
// sampling batch, so sampling after a reopen continues exactly where it stopped.
// Deterministic on every platform: no std:: distributions are used.
//
// Thread safety: none; the pool's lock guards it.
#ifndef HEAPA_INDEX_RNG_H_
#define HEAPA_INDEX_RNG_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace heapa::index {

class Rng {
 public:
  // Seeds a stream; equal seeds give equal sequences.
  static Rng FromSeed(uint64_t seed);
  // Restores a state saved by state()/inc(). REQUIRES: inc is odd.
  static Rng FromState(uint64_t state, uint64_t inc);

  uint64_t state() const { return state_; }
  uint64_t inc() const { return inc_; }

  uint32_t Next();
  // Uniform in [0, bound). REQUIRES: bound > 0. Unbiased (Lemire's method with rejection).
  uint32_t Uniform(uint32_t bound);
  // Chooses min(k, n) distinct indices of [0, n) uniformly, in random order (a partial
  // Fisher-Yates shuffle): numpy's rng.choice(n, k, replace=False), distributionally.
  std::vector<uint32_t> Choose(uint32_t n, uint32_t k);
  // Shuffles `v` uniformly in place (Fisher-Yates).
  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i) {
      std::swap((*v)[i - 1], (*v)[Uniform(static_cast<uint32_t>(i))]);
    }
  }

 private:
  Rng(uint64_t state, uint64_t inc) : state_(state), inc_(inc) {}
  uint64_t state_;
  uint64_t inc_;
};

}  // namespace heapa::index

#endif  // HEAPA_INDEX_RNG_H_
