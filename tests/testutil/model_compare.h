// Comparing a Pool with the reference ModelPool that mirrors it: used by the differential test
// (tests/index/pool_model_test.cc) and the pool_model fuzzer, so both check the same things.
#ifndef HEAPA_TESTS_TESTUTIL_MODEL_COMPARE_H_
#define HEAPA_TESTS_TESTUTIL_MODEL_COMPARE_H_

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "index/pool.h"
#include "tests/testutil/model_pool.h"

namespace heapa::testing {

template <typename T>
std::string Str(const std::vector<T>& v) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < v.size(); ++i) out << (i ? " " : "") << v[i];
  out << "]";
  return out.str();
}

std::string Str(const std::optional<double>& r);

// Sampled queries as text, rewards to 17 digits: equal texts mean equal fields.
std::string Describe(const std::vector<SampledQuery>& sampled);

struct ModelComparison {
  std::vector<std::string> differences;  // empty: pool and model agree
  int64_t imbalance = 0;                 // |LOW| - round(low_fraction * scored), absolute
};

// Every set in order, the counters and RNG, the Stats counts, the frontier and the degraded
// flag against the model; then heapa-algorithm.md §2 invariants 1-4 on the pool's own state.
// `config` is the pool's config.
ModelComparison CompareWithModel(const Pool& pool, const ModelPool& model,
                                 const PoolConfig& config);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_MODEL_COMPARE_H_
