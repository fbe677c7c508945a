// Differential test: random operations drive a real Pool and the reference model
// (tests/testutil/model_pool.h) side by side; after every step the sets, their order, the
// counters, the RNG state and the statistics must agree, and the invariants of
// heapa-algorithm.md §2 must hold on the pool.
//
// A failure names the scenario, the seed and the step; replay it with
//   HEAPA_TEST_SEED=<seed> heapa_tests -ts='index/pool_model' -tc='<scenario>'
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "index/pool.h"
#include "tests/testutil/model_compare.h"
#include "tests/testutil/model_pool.h"
#include "tests/testutil/test_util.h"

namespace heapa::testing {
namespace {

using Where = ModelPool::Where;

struct Scenario {
  const char* name;
  PoolConfig config;
  bool discrete_rewards;  // k/8 - 1: ties are common, as with real verifiable rewards
  int steps;
};

PoolConfig Config(uint64_t max_size, double low_fraction, SamplingMode sampling,
                  EvictionPolicy eviction, uint32_t reinsert_below = 0) {
  PoolConfig c;
  c.max_size = max_size;
  c.low_fraction = low_fraction;
  c.sampling = sampling;
  c.eviction = eviction;
  c.reinsert_below = reinsert_below;
  c.default_lease_ms = 300;
  return c;
}

class Driver {
 public:
  Driver(const Scenario& scenario, uint64_t seed)
      : scenario_(scenario),
        seed_(seed),
        gen_(seed),
        // The pool treats only the LAST reported lease of a query as a duplicate (see the
        // "older lease" test case below); the random runs model that, to check the rest.
        model_(WithSeed(scenario.config, seed), /*any_earlier_duplicate=*/true) {
    pool_ = OpenUnsynced(dir_.Sub("pool"), WithSeed(scenario.config, seed), ClockOf(clock_), true);
  }

  void Run() {
    Compare();
    for (step_ = 1; step_ <= scenario_.steps; ++step_) {
      const uint64_t dice = Below(100);
      if (dice < 28) {
        DoInsert();
      } else if (dice < 53) {
        DoSample();
      } else if (dice < 66) {
        // Multiples of 25 ms, so that the clock often lands exactly on a deadline.
        clock_->now_ms += static_cast<int64_t>(25 * Below(13));
        Note("advance clock to " + std::to_string(clock_->now_ms));
      } else if (dice < 91) {
        DoReport();
      } else if (dice < 95) {
        Note("reinsert");
        const Result<size_t> n = pool_->Reinsert();
        Expect(n.ok() && *n == model_.Reinsert(), "Reinsert count: " + n.status().ToString());
      } else if (dice < 98) {
        Note("recover");
        const Result<size_t> n = pool_->Recover();
        Expect(n.ok() && *n == model_.Recover(), "Recover count: " + n.status().ToString());
      } else {
        DoReopen();
      }
      Compare();
    }
  }

  // What the run exercised, to see that the generator reaches every path.
  std::string Summary() const {
    const ModelPool::Counters& m = model_.counters();
    std::ostringstream out;
    out << scenario_.name << ": " << m.next_id - 1 << " queries, " << m.total_duplicates
        << " duplicate inserts, " << m.total_sampled << " sampled, " << m.total_evicted
        << " evicted, " << m.total_expired << " expired, " << m.total_reinserted
        << " reinserted; reports " << outcomes_[0] << " applied, " << outcomes_[1] << " duplicate, "
        << outcomes_[2] << " late, " << refused_reports_ << " refused; " << reopens_
        << " reopens; largest |LOW| imbalance " << max_imbalance_;
    return out.str();
  }

 private:
  static PoolConfig WithSeed(PoolConfig c, uint64_t seed) {
    c.rng_seed = seed ^ 0x5eed;
    return c;
  }

  // Like testing::OpenPool, but unsynced: this test is about semantics, not durability, and a
  // clean Close() still makes every write visible to the next Open.
  static std::unique_ptr<Pool> OpenUnsynced(const std::string& dir, const PoolConfig& config,
                                            std::function<int64_t()> clock, bool create) {
    PoolOptions options;
    options.create_if_missing = create;
    if (create) options.config = config;  // a reopen must use the stored config regardless
    options.sync = false;
    options.clock_ms = std::move(clock);
    Result<std::unique_ptr<Pool>> pool = Pool::Open(dir, options);
    INFO(pool.status().ToString());
    REQUIRE(pool.ok());
    return std::move(pool).value();
  }

  uint64_t Below(uint64_t n) { return gen_() % n; }
  bool Chance(uint64_t percent) { return Below(100) < percent; }
  double Reward() {
    if (scenario_.discrete_rewards) return static_cast<double>(Below(17)) / 8.0 - 1.0;
    return static_cast<double>(gen_() >> 11) * 0x1p-52 - 1.0;
  }

  void Note(std::string op) {
    op_ = std::move(op);
    history_.push_back("step " + std::to_string(step_) + ": " + op_);
    if (history_.size() > 6) history_.pop_front();
  }

  // Stops the test with everything needed to replay it.
  void Expect(bool ok, const std::string& what) {
    if (ok) return;
    std::ostringstream msg;
    msg << "scenario " << scenario_.name << ", HEAPA_TEST_SEED=" << seed_ << ", step " << step_
        << " (" << op_ << "): " << what << "\nlast steps:";
    for (const std::string& h : history_) msg << "\n  " << h;
    FAIL(msg.str());
  }

  void DoInsert() {
    const size_t n = 1 + (Chance(5) ? Below(25) : Below(6));
    // Mostly mixed batches; sometimes all unscored (a full pool then evicts scored queries
    // with no rebalance, and can empty HIGH) or all scored.
    const uint64_t unscored_percent = Chance(10) ? 100 : Chance(10) ? 0 : 35;
    std::vector<NewQuery> batch;
    std::ostringstream what;
    what << "insert";
    for (size_t i = 0; i < n; ++i) {
      int content = next_content_;
      if (next_content_ > 0 && Chance(8)) {
        content = static_cast<int>(Below(static_cast<uint64_t>(next_content_)));  // a repeat
      } else {
        ++next_content_;
      }
      std::optional<double> reward;
      if (!Chance(unscored_percent)) reward = Reward();
      batch.push_back(MakeQuery(content, reward));
      if (Chance(3)) batch.push_back(batch.back());  // a repeat within the batch
      what << " q" << content << "=" << Str(reward);
    }
    Note(what.str());
    const Result<std::vector<InsertResult>> got = pool_->Insert(batch);
    const std::vector<InsertResult> want = model_.Insert(batch);
    Expect(got.ok(), "Insert failed: " + got.status().ToString());
    bool same = got->size() == want.size();
    for (size_t i = 0; same && i < want.size(); ++i) {
      same = (*got)[i].id == want[i].id && (*got)[i].created == want[i].created;
    }
    Expect(same, "Insert results differ");
  }

  void DoSample() {
    const uint32_t count = static_cast<uint32_t>(1 + (Chance(10) ? Below(40) : Below(12)));
    static constexpr int64_t kLeases[] = {0, 50, 150, 400, 1000};
    const int64_t lease_ms = kLeases[Below(5)];
    Note("sample " + std::to_string(count) + " lease_ms " + std::to_string(lease_ms));
    SampleRequest req;
    req.count = count;
    req.lease_ms = lease_ms;
    req.with_content = false;
    const Result<std::vector<SampledQuery>> got = pool_->Sample(req);
    const std::vector<SampledQuery> want = model_.Sample(count, lease_ms, clock_->now_ms);
    Expect(got.ok(), "Sample failed: " + got.status().ToString());
    const std::string g = Describe(*got), w = Describe(want);
    Expect(g == w, "sampled (id@lease:deadline:from:reward): pool " + g + "; model " + w);
  }

  // Reports a random part of what is in flight, sometimes with a late report (its lease
  // expired), a duplicate of an earlier report, or a lease the query does not hold.
  void DoReport() {
    const std::vector<ModelPool::Query>& qs = model_.queries();
    std::vector<ReportItem> items;
    std::set<QueryId> used;
    const auto add = [&](QueryId id, LeaseId lease) {
      if (!used.insert(id).second) return;
      ReportItem it;
      it.id = id;
      it.lease = lease;
      const size_t rollouts = 1 + Below(4);
      for (size_t r = 0; r < rollouts; ++r) it.rewards.push_back(Reward());
      it.step = step_;
      items.push_back(std::move(it));
    };
    const size_t cap = 1 + Below(12);
    for (const ModelPool::Query& q : qs) {
      if (items.size() < cap && q.where == Where::kInFlight && Chance(60)) add(q.id, q.lease);
    }
    std::vector<const ModelPool::Query*> late, reported;
    for (const ModelPool::Query& q : qs) {
      const bool done =
          std::find(q.reported.begin(), q.reported.end(), q.lease) != q.reported.end();
      if (q.lease != 0 && q.where != Where::kInFlight && !done) late.push_back(&q);
      if (!q.reported.empty()) reported.push_back(&q);
    }
    if (!late.empty() && Chance(25)) {  // late: the lease expired or was recovered, unreported
      const ModelPool::Query& q = *late[Below(late.size())];
      add(q.id, q.lease);
    }
    if (!reported.empty() && Chance(25)) {  // a duplicate: mostly of the last report
      const ModelPool::Query& q = *reported[Below(reported.size())];
      add(q.id, Chance(75) ? q.reported.back() : q.reported[Below(q.reported.size())]);
    }
    if (!qs.empty() && Chance(3)) {  // any lease at all: often one the query does not hold
      const ModelPool::Query& q = qs[Below(qs.size())];
      const LeaseId next = model_.counters().next_lease;
      if (next > 1) add(q.id, 1 + Below(next - 1));
    }
    std::ostringstream what;
    what << "report";
    for (const ReportItem& it : items) what << " " << it.id << "@" << it.lease;
    Note(what.str());
    if (items.empty()) return;
    const Result<std::vector<ReportOutcome>> got = pool_->Report(items);
    const std::optional<std::vector<ReportOutcome>> want = model_.Report(items);
    if (!want) {
      ++refused_reports_;
      Expect(got.status().code() == Status::Code::kFailedPrecondition,
             "Report should fail with FailedPrecondition, got " + got.status().ToString());
      return;
    }
    Expect(got.ok(), "Report failed: " + got.status().ToString());
    std::vector<int> g, w;
    for (ReportOutcome o : *got) g.push_back(static_cast<int>(o));
    for (ReportOutcome o : *want) {
      w.push_back(static_cast<int>(o));
      ++outcomes_[static_cast<size_t>(o) % 3];
    }
    Expect(g == w,
           "report outcomes (0 applied, 1 duplicate, 2 late): pool " + Str(g) + " model " + Str(w));
  }

  void DoReopen() {
    Note("close and reopen");
    ++reopens_;
    HEAPA_REQUIRE_OK(pool_->Close());
    pool_.reset();
    pool_ = OpenUnsynced(dir_.Sub("pool"), PoolConfig{}, ClockOf(clock_), false);
    const PoolConfig c = pool_->config();
    const PoolConfig& want = scenario_.config;
    Expect(c.max_size == want.max_size && c.low_fraction == want.low_fraction &&
               c.sampling == want.sampling && c.eviction == want.eviction &&
               c.reinsert_below == want.reinsert_below &&
               c.rng_seed == WithSeed(want, seed_).rng_seed,
           "the reopened pool has another config");
  }

  void Compare() {
    const ModelComparison c = CompareWithModel(*pool_, model_, scenario_.config);
    for (const std::string& d : c.differences) Expect(false, d);
    max_imbalance_ = std::max(max_imbalance_, c.imbalance);
  }

  const Scenario scenario_;
  const uint64_t seed_;
  std::mt19937_64 gen_;
  TempDir dir_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::unique_ptr<Pool> pool_;
  ModelPool model_;
  int next_content_ = 0;
  int step_ = 0;
  std::string op_ = "open";
  std::deque<std::string> history_;
  int64_t max_imbalance_ = 0;
  uint64_t outcomes_[3] = {};  // applied, duplicate, late
  uint64_t refused_reports_ = 0;
  uint64_t reopens_ = 0;
};

void RunScenario(const Scenario& scenario) {
  const uint64_t seed = TestSeed(scenario.name);
  Driver driver(scenario, seed);
  driver.Run();
  MESSAGE(driver.Summary());
}

constexpr auto kMedium = SamplingMode::kMedium;
constexpr auto kMixed = SamplingMode::kMixed;
constexpr auto kReference = EvictionPolicy::kReference;
constexpr auto kExtremes = EvictionPolicy::kExtremes;

}  // namespace

TEST_SUITE("index/pool_model") {
  TEST_CASE("small pool, reference eviction, medium") {
    RunScenario({"small-ref-medium", Config(20, 0.5, kMedium, kReference), true, 700});
  }
  TEST_CASE("small pool, reference eviction, mixed, low_fraction 0.3") {
    RunScenario({"small-ref-mixed-0.3", Config(40, 0.3, kMixed, kReference), true, 700});
  }
  TEST_CASE("small pool, extremes eviction, medium, low_fraction 0.3") {
    RunScenario({"small-ext-medium-0.3", Config(30, 0.3, kMedium, kExtremes), true, 700});
  }
  TEST_CASE("small pool, extremes eviction, mixed, continuous rewards") {
    RunScenario({"small-ext-mixed-cont", Config(60, 0.5, kMixed, kExtremes), false, 600});
  }
  TEST_CASE("small pool, reference eviction, mixed, low_fraction 0.9") {
    RunScenario({"small-ref-mixed-0.9", Config(25, 0.9, kMixed, kReference), true, 600});
  }
  TEST_CASE("large pool, medium, continuous rewards") {
    RunScenario({"large-ref-medium-cont", Config(1'000'000, 0.5, kMedium, kReference), false, 600});
  }
  TEST_CASE("large pool, mixed, low_fraction 0.3") {
    RunScenario({"large-ext-mixed-0.3", Config(1'000'000, 0.3, kMixed, kExtremes), true, 600});
  }
  TEST_CASE("tiny pools") {
    RunScenario({"tiny-1-ref", Config(1, 0.5, kMixed, kReference), true, 250});
    RunScenario({"tiny-3-ext", Config(3, 0.3, kMedium, kExtremes), true, 250});
  }
  TEST_CASE("explicit reinsertion threshold") {
    RunScenario({"reinsert-below-25", Config(50, 0.5, kMedium, kReference, 25), true, 500});
  }

  // DESIGN.md §3: "Reporting the same (id, lease) twice is a no-op", also for an older lease
  // (a replayed trainer step, B21). Regression: the pool once remembered only the last
  // reported lease and refused the whole batch with FailedPrecondition.
  TEST_CASE("a repeated report of an older lease is a duplicate") {
    TempDir dir;
    std::unique_ptr<Pool> pool = OpenPool(dir.Sub("pool"), PoolConfig{});
    REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(1, 0.5)}).ok());
    std::vector<ReportItem> first;
    for (int round = 0; round < 2; ++round) {  // sample, report, reinsert; twice
      SampleRequest req;
      req.count = 1;
      const Result<std::vector<SampledQuery>> s = pool->Sample(req);
      REQUIRE((s.ok() && s->size() == 1));
      const std::vector<ReportItem> items = {ReportItem{(*s)[0].id, (*s)[0].lease, {1.0}, 0}};
      REQUIRE(pool->Report(items).ok());
      REQUIRE(pool->Reinsert().ok());
      if (round == 0) first = items;
    }
    const Result<std::vector<ReportOutcome>> got = pool->Report(first);
    INFO(got.status().ToString());
    REQUIRE(got.ok());
    CHECK((*got)[0] == ReportOutcome::kDuplicate);
  }
}

}  // namespace heapa::testing
