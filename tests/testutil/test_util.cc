#include "tests/testutil/test_util.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <span>

#include "index/pool_deferred.h"

namespace heapa::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("HEAPA_TEST_TMPDIR");
  std::filesystem::path root = base ? base : std::filesystem::temp_directory_path().string();
  std::filesystem::create_directories(root);
  path_ =
      (root / ("heapa-" + std::to_string(::getpid()) + "-" + std::to_string(counter++))).string();
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

uint64_t TestSeed(const char* test_name) {
  uint64_t seed;
  if (const char* env = std::getenv("HEAPA_TEST_SEED")) {
    seed = std::strtoull(env, nullptr, 10);
  } else {
    seed = std::random_device{}() ^
           static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  MESSAGE(std::string(test_name) << ": seed " << seed << " (replay with HEAPA_TEST_SEED=" << seed
                                 << ")");
  return seed;
}

std::unique_ptr<Pool> OpenPool(const std::string& dir, const PoolConfig& config,
                               std::function<int64_t()> clock) {
  PoolOptions options;
  options.create_if_missing = true;
  options.config = config;
  options.clock_ms = std::move(clock);
  auto pool = Pool::Open(dir, options);
  INFO(pool.status().ToString());
  REQUIRE(pool.ok());
  return std::move(pool).value();
}

NewQuery MakeQuery(int n, std::optional<double> reward) {
  NewQuery q;
  q.prompt = "q" + std::to_string(n);
  q.answer = "a" + std::to_string(n);
  q.source = "test";
  q.reward = reward;
  return q;
}

std::vector<SampledQuery> InsertAndLease(Pool& pool, int inserted, int leased) {
  std::vector<NewQuery> qs;
  for (int i = 0; i < inserted; ++i) qs.push_back(MakeQuery(i));
  HEAPA_REQUIRE_OK(pool.Insert(qs).status());
  SampleRequest req;
  req.count = static_cast<uint32_t>(leased);
  req.with_content = false;
  auto sampled = pool.Sample(req);
  HEAPA_REQUIRE_OK(sampled.status());
  REQUIRE(sampled->size() == static_cast<size_t>(leased));
  return std::move(sampled).value();
}

Status ReportEachDeferred(Pool& pool, const std::vector<SampledQuery>& sampled) {
  Pool::DeferredDurability scope(&pool);
  for (const SampledQuery& q : sampled) {
    const ReportItem item{q.id, q.lease, {static_cast<double>(q.id % 2)}, 1};
    auto out = pool.Report(std::span(&item, 1));
    HEAPA_REQUIRE_OK(out.status());
    CHECK((*out)[0] == ReportOutcome::kApplied);
  }
  scope.Release();
  return scope.Wait();
}

}  // namespace heapa::testing
