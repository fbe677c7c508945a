// Shared test helpers: temporary directories, seeds, status assertions, a fake clock.
#ifndef HEAPA_TESTS_TESTUTIL_TEST_UTIL_H_
#define HEAPA_TESTS_TESTUTIL_TEST_UTIL_H_

#include <doctest/doctest.h>

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "index/pool.h"
#include "storage/status.h"

// Fails the test with the status text unless `expr` is OK.
#define HEAPA_REQUIRE_OK(expr)               \
  do {                                       \
    const ::heapa::Status heapa_s_ = (expr); \
    INFO(heapa_s_.ToString());               \
    REQUIRE(heapa_s_.ok());                  \
  } while (0)

namespace heapa::testing {

// A fresh empty directory, removed with everything in it on destruction. Lives under
// $HEAPA_TEST_TMPDIR or the system temp directory.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A gate that threads of a test Wait() at until the test Opens it; Open() again does nothing.
// Open and destroy it on the test's thread.
class Gate {
 public:
  void Open() {
    if (!open_) promise_.set_value();
    open_ = true;
  }
  void Wait() const { opened_.wait(); }

 private:
  std::promise<void> promise_;
  std::shared_future<void> opened_ = promise_.get_future().share();
  bool open_ = false;
};

// Opens `gate` when it goes out of scope. Declared after whatever waits for a thread held at
// the gate (a future, a server), it lets that thread go first when a failed REQUIRE leaves the
// test, instead of waiting for ever.
class OpenOnExit {
 public:
  explicit OpenOnExit(Gate* gate) : gate_(gate) {}
  ~OpenOnExit() { gate_->Open(); }
  OpenOnExit(const OpenOnExit&) = delete;
  OpenOnExit& operator=(const OpenOnExit&) = delete;

 private:
  Gate* gate_;
};

// The seed of a randomized test: $HEAPA_TEST_SEED when set, else a fresh one. Printed
// (MESSAGE) so that a failure can be replayed with HEAPA_TEST_SEED=<seed>.
uint64_t TestSeed(const char* test_name);

// A settable clock for PoolOptions::clock_ms.
struct FakeClock {
  int64_t now_ms = 1'000'000;
};
inline std::function<int64_t()> ClockOf(const std::shared_ptr<FakeClock>& clock) {
  return [clock] { return clock->now_ms; };
}

// Opens (creating) a pool in `dir` with `config`, failing the test on error.
std::unique_ptr<Pool> OpenPool(const std::string& dir, const PoolConfig& config,
                               std::function<int64_t()> clock = nullptr);

// A seed query with a distinct prompt "q<n>", scored when `reward` is set.
NewQuery MakeQuery(int n, std::optional<double> reward = std::nullopt);

// Inserts queries 0..inserted-1 (MakeQuery) into `pool` and samples `leased` of them without
// texts, failing the test unless it gets them all.
std::vector<SampledQuery> InsertAndLease(Pool& pool, int inserted, int leased);

// Reports each of `sampled` alone (reward id % 2, step 1), each applied, under one
// DeferredDurability scope, as the daemon does: their batches queue together, each journal
// record folding the one before (storage/state_log.h). Returns the scope's Wait().
Status ReportEachDeferred(Pool& pool, const std::vector<SampledQuery>& sampled);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_TEST_UTIL_H_
