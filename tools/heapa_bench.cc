// heapa_bench: an in-process benchmark of one Pool, in the style of RocksDB's db_bench.
//
//   heapa_bench [--dir DIR] [--pool-size N] [--batch K] [--steps S] [--prompt-bytes B]
//               [--insert-batch I] [--sync=true|false] [--seed X] [--scored-fill=true|false]
//               [--benchmarks=fill,step,reopen]
//
// fill inserts N distinct queries; step runs S training steps (Sample K + Report K with 16
// rollouts each); reopen closes the pool and times Pool::Open (the index rebuild). Ends with
// one line per metric next to its target (issue 2). Targets never fail the run; a reopened
// pool whose counts differ from the closed one does (exit 2). Single-threaded.
#include <fmt/core.h>
#include <fmt/format.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "index/pool.h"
#include "index/pool_options.h"
#include "index/types.h"
#include "tools/bench/bench_util.h"

namespace heapa {
namespace {

using bench::MakePrompt;
using bench::MsSince;
using bench::Percentiles;
using bench::Rand;
using bench::SteadyClock;
using bench::Summarize;

constexpr int kRollouts = 16;  // rewards per reported query
constexpr double kMillion = 1e6;

struct Flags {
  std::string dir;
  uint64_t pool_size = 1'000'000;
  uint32_t batch = 512;
  uint32_t steps = 200;
  size_t prompt_bytes = 100;
  size_t insert_batch = 10'000;
  bool sync = true;
  bool scored_fill = true;
  uint64_t seed = 301;
  std::vector<std::string> benchmarks = {"fill", "step", "reopen"};
};

// The probability that one rollout of query `id` succeeds: fixed per query, so groups vary
// from all -1 through mixed to all +1, as in a real run.
double SuccessProbability(uint64_t seed, QueryId id) {
  return Rand(seed ^ (id * 0xd1342543de82ef95ULL)).Uniform();
}

// The mean of 16 rollouts of +-1: k/8 - 1 for k successes, the discrete rewards of a real run.
double GroupMean(double p, Rand* rng, std::vector<double>* rewards) {
  rewards->clear();
  double sum = 0;
  for (int r = 0; r < kRollouts; ++r) {
    rewards->push_back(rng->Uniform() < p ? 1.0 : -1.0);
    sum += rewards->back();
  }
  return sum / kRollouts;
}

// Compares what a reopen must preserve; returns the first difference, or "" when equal.
std::string DiffCounts(const PoolStats& a, const PoolStats& b) {
  constexpr std::array<std::string_view, 9> kNames = {
      "pooled", "cold", "low", "high", "in_flight", "archived", "pending", "rejected", "evicted"};
  const auto counts = [](const PoolStats& s) {
    return std::array<uint64_t, 9>{s.pooled,   s.cold,    s.low,      s.high,   s.in_flight,
                                   s.archived, s.pending, s.rejected, s.evicted};
  };
  const auto ca = counts(a), cb = counts(b);
  for (size_t i = 0; i < ca.size(); ++i) {
    if (ca[i] != cb[i]) return fmt::format("{} {} -> {}", kNames[i], ca[i], cb[i]);
  }
  if (!(a.counters == b.counters)) return "counters differ";
  if (a.low_max != b.low_max || a.high_min != b.high_min) return "frontier differs";
  return "";
}

struct Row {
  std::string metric, value, target, verdict;
};

class Bench {
 public:
  Bench(const Flags& flags, std::string dir) : flags_(flags), dir_(std::move(dir)) {}

  // Runs the benchmarks in flag order; returns the process exit code or a failed Status.
  Result<int> Run() {
    const auto& names = flags_.benchmarks;
    const bool fill = std::find(names.begin(), names.end(), "fill") != names.end();
    HEAPA_RETURN_IF_ERROR(Open(/*create=*/true, /*must_be_new=*/fill));
    for (const std::string& name : flags_.benchmarks) {
      if (name == "fill") HEAPA_RETURN_IF_ERROR(Fill());
      if (name == "step") HEAPA_RETURN_IF_ERROR(Step());
      if (name == "reopen") HEAPA_RETURN_IF_ERROR(Reopen());
    }
    PrintTable();
    return verified_ ? 0 : 2;
  }

 private:
  Status Open(bool create, bool must_be_new) {
    PoolOptions options;
    options.create_if_missing = create;
    options.error_if_exists = must_be_new;  // a fill into an old pool would only find duplicates
    options.config.max_size = std::max<uint64_t>(flags_.pool_size, 1);
    options.config.rng_seed = flags_.seed;
    options.sync = flags_.sync;
    HEAPA_ASSIGN_OR_RETURN(pool_, Pool::Open(dir_, options));
    return Status::OK();
  }

  Status Fill() {
    Rand rng(flags_.seed);
    std::vector<NewQuery> batch;
    std::vector<double> batch_ms, rewards;
    uint64_t created = 0;
    const auto wall = SteadyClock::now();
    for (uint64_t i = 0; i < flags_.pool_size;) {
      batch.clear();
      for (; batch.size() < flags_.insert_batch && i < flags_.pool_size; ++i) {
        NewQuery q;
        q.prompt = MakePrompt(i, flags_.prompt_bytes, &rng);
        q.answer = std::to_string(rng.Below(1000));
        q.source = "bench";
        // A fresh pool numbers queries from 1 in insertion order: query i gets id i + 1.
        if (flags_.scored_fill)
          q.reward = GroupMean(SuccessProbability(flags_.seed, i + 1), &rng, &rewards);
        batch.push_back(std::move(q));
      }
      const auto start = SteadyClock::now();
      HEAPA_ASSIGN_OR_RETURN(std::vector<InsertResult> results, pool_->Insert(batch));
      batch_ms.push_back(MsSince(start));
      for (const InsertResult& r : results) created += r.created ? 1 : 0;
    }
    const double wall_ms = MsSince(wall);
    double insert_ms = 0;
    for (double ms : batch_ms) insert_ms += ms;
    const double qps = static_cast<double>(created) / (insert_ms / 1000);
    const Percentiles p = Summarize(batch_ms);
    fmt::print(
        "fill      : {} queries ({} created, {}) in {:.2f} s inside Insert, {:.2f} s wall "
        "with text generation; {:.0f} queries/s; per {}-query batch p50 {:.1f} ms, max "
        "{:.1f} ms\n",
        flags_.pool_size, created, flags_.scored_fill ? "scored" : "unscored", insert_ms / 1000,
        wall_ms / 1000, qps, flags_.insert_batch, p.p50, p.max);
    const double target_s = 10 * static_cast<double>(flags_.pool_size) / kMillion;
    rows_.push_back({fmt::format("fill {} queries (Insert time)", flags_.pool_size),
                     fmt::format("{:.2f} s ({:.0f} q/s)", insert_ms / 1000, qps),
                     fmt::format("< {:.2f} s (10 s per 1M)", target_s),
                     insert_ms / 1000 < target_s ? "PASS" : "MISS"});
    PrintMemory("after fill");
    return Status::OK();
  }

  Status Step() {
    Rand rng(flags_.seed + 1);
    std::vector<double> sample_ms, report_ms, step_ms;
    std::array<uint64_t, storage::kMaxQueryState + 1> from{};  // picks by the set they came from
    uint64_t sampled = 0;
    const SampleRequest req{.count = flags_.batch, .lease_ms = 0, .with_content = true};
    std::vector<ReportItem> items;
    for (uint32_t s = 0; s < flags_.steps; ++s) {
      const auto start = SteadyClock::now();
      HEAPA_ASSIGN_OR_RETURN(std::vector<SampledQuery> picks, pool_->Sample(req));
      sample_ms.push_back(MsSince(start));
      if (picks.empty()) return Status::FailedPrecondition("step: the pool is empty; run fill");
      items.resize(picks.size());
      for (size_t i = 0; i < picks.size(); ++i) {
        const SampledQuery& q = picks[i];
        ++from[static_cast<size_t>(q.from)];
        items[i].id = q.id;
        items[i].lease = q.lease;
        items[i].step = s;
        GroupMean(SuccessProbability(flags_.seed, q.id), &rng, &items[i].rewards);
      }
      sampled += picks.size();
      const auto report_start = SteadyClock::now();
      HEAPA_ASSIGN_OR_RETURN(std::vector<ReportOutcome> outcomes, pool_->Report(items));
      report_ms.push_back(MsSince(report_start));
      step_ms.push_back(sample_ms.back() + report_ms.back());
      for (ReportOutcome o : outcomes) {
        if (o != ReportOutcome::kApplied) return Status::Internal("step: a report was not applied");
      }
    }
    const auto pct = [&](uint64_t n) { return 100.0 * static_cast<double>(n) / sampled; };
    const uint64_t cold = from[static_cast<size_t>(QueryState::kCold)];
    const std::string regime = cold == sampled ? "COLD"
                               : cold == 0     ? "boundary"
                                               : "mixed COLD + boundary";
    fmt::print(
        "step      : {} steps of Sample({}, with_content) + Report({} x {} rollouts), "
        "sync={}; regime {}: {:.1f}% from COLD, {:.1f}% LOW, {:.1f}% HIGH\n",
        flags_.steps, flags_.batch, flags_.batch, kRollouts, flags_.sync, regime, pct(cold),
        pct(from[static_cast<size_t>(QueryState::kLow)]),
        pct(from[static_cast<size_t>(QueryState::kHigh)]));
    const Percentiles st = Summarize(step_ms), sa = Summarize(sample_ms), re = Summarize(report_ms);
    for (const auto& [name, p] : {std::pair{"step  ", st}, {"sample", sa}, {"report", re}}) {
      fmt::print("  {} ms: p50 {:.3f}  p99 {:.3f}  p999 {:.3f}  max {:.3f}\n", name, p.p50, p.p99,
                 p.p999, p.max);
    }
    for (const auto& [q, v] : {std::pair{"p50", st.p50}, {"p99", st.p99}, {"max", st.max}}) {
      std::string verdict = v < 5 ? "PASS" : "MISS";
      if (!flags_.sync) verdict += " (sync=false: not the target's setting)";
      if (q == std::string_view("max")) verdict = "";  // informational: the target is typical
      rows_.push_back({fmt::format("step {} (sample {} + report {}), {}", q, flags_.batch,
                                   flags_.batch, regime),
                       fmt::format("{:.3f} ms", v), verdict.empty() ? "-" : "< 5 ms, sync=true",
                       verdict});
    }
    for (const auto& [name, p] : {std::pair{"sample", sa}, {"report", re}}) {
      rows_.push_back({fmt::format("{} p50 / p99 / max", name),
                       fmt::format("{:.2f} / {:.2f} / {:.2f} ms", p.p50, p.p99, p.max), "-", ""});
    }
    return Status::OK();
  }

  // Close, then time Pool::Open twice: the first is a restart (it replays whatever WAL Close
  // left behind, then rebuilds the index); the second, with nothing left to replay and a warm
  // page cache, isolates the index rebuild.
  Status Reopen() {
    const PoolStats before = pool_->Stats();
    double close_ms = 0, open_ms[2] = {0, 0};
    for (double& ms : open_ms) {
      auto start = SteadyClock::now();
      HEAPA_RETURN_IF_ERROR(pool_->Close());
      pool_.reset();
      if (close_ms == 0) close_ms = MsSince(start);
      start = SteadyClock::now();
      HEAPA_RETURN_IF_ERROR(Open(/*create=*/false, /*must_be_new=*/false));
      ms = MsSince(start);
    }
    const PoolStats after = pool_->Stats();
    const std::string diff = DiffCounts(before, after);
    verified_ = verified_ && diff.empty();
    const uint64_t n = after.counters.next_id - 1;
    fmt::print(
        "reopen    : Close {:.1f} ms; Pool::Open of {} queries {:.1f} ms after Close, {:.1f} ms "
        "again (nothing to replay: the index rebuild); counts {}\n",
        close_ms, n, open_ms[0], open_ms[1], diff.empty() ? "equal" : "DIFFER: " + diff);
    const double target_ms = 2000 * std::max(static_cast<double>(n), 1.0) / kMillion;
    const std::string target = fmt::format("< {:.0f} ms (2 s per 1M)", target_ms);
    rows_.push_back({fmt::format("reopen: Pool::Open of {}, after Close", n),
                     fmt::format("{:.1f} ms", open_ms[0]), target,
                     open_ms[0] < target_ms ? "PASS" : "MISS"});
    rows_.push_back({"reopen: Pool::Open again (nothing to replay)",
                     fmt::format("{:.1f} ms", open_ms[1]), target,
                     open_ms[1] < target_ms ? "PASS" : "MISS"});
    rows_.push_back({"reopen: Stats() counts equal", diff.empty() ? "yes" : "no: " + diff, "yes",
                     diff.empty() ? "PASS" : "FAIL"});
    PrintMemory("after reopen");
    return Status::OK();
  }

  // The index holds an entry per query ever inserted (archived and in-flight ones too), so
  // the target is judged per known query; per pooled query is printed as well.
  void PrintMemory(std::string_view when) {
    const bench::Memory m = bench::ReadMemory();
    const PoolStats st = pool_->Stats();
    const double bytes = static_cast<double>(st.index_bytes);
    const uint64_t known = st.counters.next_id - 1;
    const double per_known = known == 0 ? 0 : bytes / static_cast<double>(known);
    const double per_pooled = st.pooled == 0 ? 0 : bytes / static_cast<double>(st.pooled);
    fmt::print(
        "memory    : {}: VmRSS {:.1f} MiB, VmHWM {:.1f} MiB; index {:.1f} MiB for {} queries "
        "= {:.1f} B/query; {} pooled ({} cold, {} low, {} high; {} archived) = {:.1f} B/pooled\n",
        when, m.rss_kib / 1024.0, m.hwm_kib / 1024.0, bytes / 1048576, known, per_known, st.pooled,
        st.cold, st.low, st.high, st.archived, per_pooled);
    rows_.push_back({fmt::format("index bytes / query ({} queries), {}", known, when),
                     fmt::format("{:.1f} B", per_known), "< 100 B",
                     per_known < 100 ? "PASS" : "MISS"});
    rows_.push_back({fmt::format("VmRSS / VmHWM, {}", when),
                     fmt::format("{:.0f} / {:.0f} MiB", m.rss_kib / 1024.0, m.hwm_kib / 1024.0),
                     "-", ""});
  }

  void PrintTable() const {
    fmt::print("\nload average at the end: {}\n", bench::LoadAverage());
    fmt::print("\n{:<52} {:>22}  {:<26} {}\n", "metric", "value", "target (issue 2)", "verdict");
    fmt::print("{}\n", std::string(110, '-'));
    for (const Row& r : rows_) {
      fmt::print("{:<52} {:>22}  {:<26} {}\n", r.metric, r.value, r.target, r.verdict);
    }
  }

  const Flags flags_;
  const std::string dir_;
  std::unique_ptr<Pool> pool_;
  std::vector<Row> rows_;
  bool verified_ = true;
};

// A fresh directory under /tmp, removed on destruction; or the caller's --dir, kept.
class WorkDir {
 public:
  static Result<WorkDir> Make(const std::string& dir) {
    if (!dir.empty()) return WorkDir(dir, false);
    std::string tmpl = "/tmp/heapa_bench.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("mkdtemp " + tmpl + " failed");
    return WorkDir(tmpl, true);
  }
  WorkDir(WorkDir&& o) noexcept
      : path_(std::move(o.path_)), owned_(std::exchange(o.owned_, false)) {}
  WorkDir& operator=(WorkDir&&) = delete;
  ~WorkDir() {
    std::error_code ec;  // best effort: a leftover temp dir is not worth failing the run
    if (owned_) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  WorkDir(std::string path, bool owned) : path_(std::move(path)), owned_(owned) {}
  std::string path_;
  bool owned_;
};

}  // namespace
}  // namespace heapa

int main(int argc, char** argv) {
  try {
    heapa::Flags f;
    CLI::App app{"heapa_bench: in-process benchmark of one heapa Pool"};
    app.add_option("--dir", f.dir, "pool directory (default: a fresh temp dir, removed at exit)");
    app.add_option("--pool-size", f.pool_size, "queries to insert (N)")->capture_default_str();
    app.add_option("--batch", f.batch, "queries per Sample/Report (K)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1u << 16));
    app.add_option("--steps", f.steps, "training steps (S)")->capture_default_str();
    app.add_option("--prompt-bytes", f.prompt_bytes, "prompt size (B)")
        ->capture_default_str()
        ->check(CLI::Range(size_t{1}, size_t{1} << 20));
    app.add_option("--insert-batch", f.insert_batch, "queries per Insert call in fill")
        ->capture_default_str()
        ->check(CLI::Range(size_t{1}, size_t{1} << 16));
    app.add_option("--sync", f.sync, "fdatasync every write")->capture_default_str();
    app.add_option("--scored-fill", f.scored_fill,
                   "fill with rewards (LOW/HIGH populated: boundary regime); false: all COLD")
        ->capture_default_str();
    app.add_option("--seed", f.seed, "seed of the text, rewards and pool RNG")
        ->capture_default_str();
    app.add_option("--benchmarks", f.benchmarks, "comma-separated, run in order: fill,step,reopen")
        ->delimiter(',')
        ->check(CLI::IsMember({"fill", "step", "reopen"}));
    CLI11_PARSE(app, argc, argv);

    heapa::Result<heapa::WorkDir> dir = heapa::WorkDir::Make(f.dir);
    if (!dir.ok()) {
      fmt::print(stderr, "heapa_bench: {}\n", dir.status().ToString());
      return 1;
    }
    fmt::print(
        "heapa_bench: dir {} pool-size {} batch {} steps {} prompt-bytes {} sync {} "
        "scored-fill {} seed {} benchmarks {}; load average {}\n",
        dir->path(), f.pool_size, f.batch, f.steps, f.prompt_bytes, f.sync, f.scored_fill, f.seed,
        fmt::join(f.benchmarks, ","), heapa::bench::LoadAverage());
    heapa::Bench bench(f, dir->path());
    heapa::Result<int> rc = bench.Run();
    if (!rc.ok()) {
      fmt::print(stderr, "heapa_bench: {}\n", rc.status().ToString());
      return 1;
    }
    return *rc;
  } catch (const std::exception& e) {
    fmt::print(stderr, "heapa_bench: {}\n", e.what());
    return 1;
  }
}
