// A seeded driver of random pool operations (insert, sample, report, children, validate,
// clock advance, reinsert, recover), for determinism, reopen and checkpoint tests. Two drivers
// with the same seed, applied to pools that answer alike, issue identical operations.
#ifndef HEAPA_TESTS_TESTUTIL_RANDOM_OPS_H_
#define HEAPA_TESTS_TESTUTIL_RANDOM_OPS_H_

#include <memory>
#include <random>
#include <vector>

#include "index/pool.h"
#include "tests/testutil/test_util.h"

namespace heapa::testing {

class RandomDriver {
 public:
  RandomDriver(uint64_t seed, std::shared_ptr<FakeClock> clock);

  // Applies one random operation to `pool`; fails the test on an unexpected error.
  void Step(Pool& pool);

  RandomDriver(const RandomDriver&) = default;
  RandomDriver& operator=(const RandomDriver&) = default;

  // The ids of every non-empty sample, in order.
  const std::vector<std::vector<QueryId>>& samples() const { return samples_; }

 private:
  void Insert(Pool& pool);
  void Sample(Pool& pool);
  void Report(Pool& pool);
  void Children(Pool& pool);
  void ValidateOne(Pool& pool);

  std::mt19937_64 rng_;
  std::shared_ptr<FakeClock> clock_;
  int next_prompt_ = 0;
  std::vector<SampledQuery> leased_;
  std::vector<QueryId> known_;
  std::vector<QueryId> pending_;
  std::vector<std::vector<QueryId>> samples_;
};

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_RANDOM_OPS_H_
