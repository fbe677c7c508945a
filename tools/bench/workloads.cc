#include "tools/bench/workloads.h"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "tools/bench/bench_util.h"

namespace heapa::bench {
namespace {

constexpr int kRollouts = 16;          // rewards per reported query in a step
constexpr uint32_t kReportLease = 64;  // queries each report client leases at a time
constexpr uint32_t kChildrenPerCall = 64;

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

void PrintLatency(const char* what, const Percentiles& p) {
  fmt::print("  {:<22} ms: p50 {:.3f}  p99 {:.3f}  p999 {:.3f}  max {:.3f}\n", what, p.p50, p.p99,
             p.p999, p.max);
}

}  // namespace

Runner::Runner(const WorkloadOptions& options, Target* target) : o_(options), target_(target) {}

Status Runner::EnsureSession() {
  if (session_) return Status::OK();
  HEAPA_ASSIGN_OR_RETURN(session_, target_->Connect());
  return Status::OK();
}

Status Runner::Run(const std::string& benchmark) {
  HEAPA_RETURN_IF_ERROR(EnsureSession());
  if (benchmark == "fill") return Fill();
  if (benchmark == "step") return Step();
  if (benchmark == "sample") return Sample();
  if (benchmark == "report") return Report();
  if (benchmark == "children") return Children();
  if (benchmark == "refresh") return Refresh();
  if (benchmark == "reopen") return Reopen();
  return Status::InvalidArgument("unknown benchmark " + benchmark);
}

Status Runner::PrintCounts() {
  HEAPA_RETURN_IF_ERROR(EnsureSession());
  HEAPA_ASSIGN_OR_RETURN(const std::string counts, session_->Counts());
  fmt::print("pool at the end: {}\n", counts);
  return Status::OK();
}

void Runner::Memory(const std::string& when) {
  const double mib = static_cast<double>(target_->ResidentKib()) / 1024.0;
  fmt::print("  resident memory of the {} {}: VmRSS {:.1f} MiB\n",
             target_->name() == "inproc" ? "bench process" : "server", when, mib);
  figures_["RSS MiB " + when] = {mib, false};
}

Status Runner::Fill() {
  Rand rng(o_.seed);
  std::vector<std::vector<NewQuery>> batches;
  std::vector<double> call_ms, rewards;
  double insert_ms = 0;
  for (uint64_t i = 0; i < o_.pool_size;) {
    batches.clear();
    for (; batches.size() < o_.fill_pipeline && i < o_.pool_size;) {
      std::vector<NewQuery>& batch = batches.emplace_back();
      for (; batch.size() < o_.insert_batch && i < o_.pool_size; ++i) {
        NewQuery q;
        q.prompt = MakePrompt(i, o_.prompt_bytes, &rng);
        q.answer = std::to_string(rng.Below(1000));
        q.source = "bench";
        // A fresh pool numbers queries from 1 in insertion order: query i gets id i + 1.
        q.reward = GroupMean(SuccessProbability(o_.seed, i + 1), &rng, &rewards);
        batch.push_back(std::move(q));
      }
    }
    const auto start = SteadyClock::now();
    HEAPA_RETURN_IF_ERROR(batches.size() == 1 ? session_->Insert(batches.front())
                                              : session_->InsertMany(batches));
    call_ms.push_back(MsSince(start));
    insert_ms += call_ms.back();
  }
  const double qps = static_cast<double>(o_.pool_size) / (insert_ms / 1000);
  fmt::print(
      "fill      : {} scored queries of {} bytes in {:.2f} s inside Insert ({} per call): "
      "{:.0f} q/s\n",
      o_.pool_size, o_.prompt_bytes, insert_ms / 1000, o_.fill_pipeline, qps);
  PrintLatency(o_.fill_pipeline == 1
                   ? fmt::format("Insert({})", o_.insert_batch).c_str()
                   : fmt::format("{} x Insert({})", o_.fill_pipeline, o_.insert_batch).c_str(),
               Summarize(call_ms));
  figures_["fill: queries/s"] = {qps, true};
  figures_["fill: seconds"] = {insert_ms / 1000, false};
  Memory("after fill");
  return Status::OK();
}

Status Runner::Step() {
  Rand rng(o_.seed + 1);
  std::vector<double> sample_ms, report_ms, step_ms;
  uint64_t from_cold = 0, sampled = 0;
  std::vector<ReportItem> items;
  const uint64_t total = uint64_t{o_.warmup_steps} + o_.steps;
  for (uint64_t s = 0; s < total; ++s, ++step_) {
    const bool measured = s >= o_.warmup_steps;
    const auto start = SteadyClock::now();
    HEAPA_ASSIGN_OR_RETURN(std::vector<SampledQuery> picks, session_->Sample(o_.batch, true));
    const double sample_took = MsSince(start);
    if (picks.empty()) return Status::FailedPrecondition("step: the pool is empty; run fill");
    // The trainer generates its rollouts: the pool idles (its flushes and compactions run).
    double idle_ms = 0;
    if (measured && o_.rollout_ms > 0) {
      const auto idle_start = SteadyClock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(o_.rollout_ms));
      idle_ms = MsSince(idle_start);
    }
    items.resize(picks.size());
    for (size_t i = 0; i < picks.size(); ++i) {
      from_cold += measured && picks[i].from == QueryState::kCold ? 1 : 0;
      items[i].id = picks[i].id;
      items[i].lease = picks[i].lease;
      items[i].step = static_cast<int64_t>(step_);
      GroupMean(SuccessProbability(o_.seed, picks[i].id), &rng, &items[i].rewards);
    }
    const auto report_start = SteadyClock::now();
    HEAPA_ASSIGN_OR_RETURN(std::vector<ReportOutcome> outcomes, session_->Report(items));
    if (measured) {
      sampled += picks.size();
      sample_ms.push_back(sample_took);
      report_ms.push_back(MsSince(report_start));
      step_ms.push_back(MsSince(start) - idle_ms);  // the idle time excluded
    }
    for (ReportOutcome o : outcomes) {
      if (o != ReportOutcome::kApplied) return Status::Internal("step: a report was not applied");
    }
  }
  const Percentiles st = Summarize(step_ms);
  fmt::print(
      "step      : {} steps of Sample({}, with texts) + Report({} x {} rollouts){}{}; {:.1f}% "
      "from COLD\n",
      o_.steps, o_.batch, o_.batch, kRollouts,
      o_.rollout_ms == 0 ? std::string()
                         : fmt::format(" with {} ms between Sample and Report", o_.rollout_ms),
      o_.warmup_steps == 0 ? std::string() : fmt::format(" after {} unmeasured", o_.warmup_steps),
      100.0 * static_cast<double>(from_cold) / static_cast<double>(std::max<uint64_t>(sampled, 1)));
  PrintLatency("step", st);
  PrintLatency("  of which Sample", Summarize(sample_ms));
  PrintLatency("  of which Report", Summarize(report_ms));
  if (const std::optional<PoolStats> after = session_->Stats()) {
    fmt::print("  memory: index {:.1f} MiB, statistics {:.1f} MiB\n",
               static_cast<double>(after->index_bytes) / (1 << 20),
               static_cast<double>(after->stats_bytes) / (1 << 20));
  }
  figures_["step: p50 ms"] = {st.p50, false};
  figures_["step: p99 ms"] = {st.p99, false};
  return Status::OK();
}

Status Runner::Sample() {
  std::vector<double> ms;
  uint64_t sampled = 0;
  double total_ms = 0;
  for (uint32_t i = 0; i < o_.sample_ops; ++i) {
    const auto start = SteadyClock::now();
    HEAPA_ASSIGN_OR_RETURN(std::vector<SampledQuery> picks, session_->Sample(o_.batch, true));
    ms.push_back(MsSince(start));
    total_ms += ms.back();
    sampled += picks.size();
  }
  const double qps = static_cast<double>(sampled) / (total_ms / 1000);
  fmt::print(
      "sample    : {} calls of Sample({}, with texts), one client: {:.0f} sampled "
      "queries/s\n",
      o_.sample_ops, o_.batch, qps);
  PrintLatency(fmt::format("Sample({})", o_.batch).c_str(), Summarize(ms));
  figures_["sample: queries/s, batches"] = {qps, true};

  ms.clear();
  for (uint32_t i = 0; i < o_.small_ops; ++i) {
    const auto start = SteadyClock::now();
    HEAPA_ASSIGN_OR_RETURN(std::vector<SampledQuery> picks, session_->Sample(1, true));
    ms.push_back(MsSince(start));
  }
  const Percentiles p = Summarize(ms);
  fmt::print("sample    : {} calls of Sample(1, with text)\n", o_.small_ops);
  PrintLatency("Sample(1)", p);
  figures_["sample(1): p50 ms"] = {p.p50, false};
  figures_["sample(1): p99 ms"] = {p.p99, false};
  // The leases of these samples stay out (10 minutes); the pool keeps enough queries.
  return Status::OK();
}

Status Runner::Report() {
  const std::optional<PoolStats> before = session_->Stats();
  std::atomic<bool> stop{false};
  std::mutex mu;
  Status failure;
  std::vector<double> all_ms;
  uint64_t reports = 0;
  std::vector<std::thread> threads;
  const auto start = SteadyClock::now();
  for (int t = 0; t < o_.clients; ++t) {
    threads.emplace_back([&, t] {
      std::vector<double> ms;
      uint64_t sent = 0;
      Status st = [&]() -> Status {
        HEAPA_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, target_->Connect());
        Rand rng(o_.seed + 1000 + static_cast<uint64_t>(t));
        std::vector<std::vector<ReportItem>> calls;
        while (!stop.load()) {
          HEAPA_ASSIGN_OR_RETURN(std::vector<SampledQuery> got, s->Sample(kReportLease, false));
          if (got.empty()) return Status::FailedPrecondition("report: the pool is empty");
          for (size_t i = 0; i < got.size() && !stop.load(); i += o_.pipeline) {
            calls.clear();
            for (size_t j = i; j < std::min(got.size(), i + o_.pipeline); ++j) {
              ReportItem item{got[j].id, got[j].lease, {}, static_cast<int64_t>(step_)};
              GroupMean(SuccessProbability(o_.seed, got[j].id), &rng, &item.rewards);
              calls.push_back({std::move(item)});
            }
            const auto t0 = SteadyClock::now();
            if (calls.size() == 1) {
              HEAPA_RETURN_IF_ERROR(s->Report(calls[0]).status());
            } else {
              HEAPA_RETURN_IF_ERROR(s->ReportMany(calls));
            }
            // Latency of full calls only (a lease of 64 may end in a shorter one).
            if (calls.size() == o_.pipeline) ms.push_back(MsSince(t0));
            sent += calls.size();
          }
        }
        return Status::OK();
      }();
      std::lock_guard<std::mutex> lock(mu);
      if (!st.ok() && failure.ok()) failure = st;
      reports += sent;
      all_ms.insert(all_ms.end(), ms.begin(), ms.end());
      if (!st.ok()) stop.store(true);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(o_.seconds * 1000)));
  stop.store(true);
  for (std::thread& th : threads) th.join();
  const double wall_s = MsSince(start) / 1000;
  HEAPA_RETURN_IF_ERROR(failure);
  const double rps = static_cast<double>(reports) / wall_s;
  fmt::print(
      "report    : {} clients, {} single-report requests ({} per pipelined call) in {:.1f} s "
      "(with one Sample({}) per {} reports): {:.0f} durable reports/s\n",
      o_.clients, reports, o_.pipeline, wall_s, kReportLease, kReportLease, rps);
  const Percentiles p = Summarize(all_ms);
  const std::string call =
      o_.pipeline == 1 ? std::string("Report(1)") : fmt::format("{} x Report(1)", o_.pipeline);
  PrintLatency(call.c_str(), p);
  const std::optional<PoolStats> after = session_->Stats();
  if (before && after) {
    const uint64_t writes = after->commit_writes - before->commit_writes;
    const uint64_t ops = after->commit_batches - before->commit_batches;
    fmt::print(
        "  group commit: {} synced writes for {} operations ({:.1f} per write, largest "
        "group {})\n",
        writes, ops, writes ? static_cast<double>(ops) / static_cast<double>(writes) : 0.0,
        after->commit_max_group);
  }
  const std::string pipelined = o_.pipeline == 1 ? "" : fmt::format(" x{} pipelined", o_.pipeline);
  figures_[fmt::format("report: reports/s, {} clients{}", o_.clients, pipelined)] = {rps, true};
  figures_[fmt::format("report(1){}: p99 ms", pipelined)] = {p.p99, false};
  return Status::OK();
}

Status Runner::Children() {
  Rand rng(o_.seed + 2);
  std::vector<double> ms;
  std::vector<NewChild> batch;
  double total_ms = 0;
  uint64_t made = 0;
  const uint64_t seeds = std::max<uint64_t>(o_.pool_size, 1);
  for (uint32_t i = 0; i < o_.children;) {
    batch.clear();
    for (; batch.size() < kChildrenPerCall && i < o_.children; ++i) {
      NewChild c;
      c.parents = {1 + rng.Below(seeds)};
      c.prompt = MakePrompt(i, o_.prompt_bytes, &rng) + " (variant)";
      c.answer = std::to_string(rng.Below(1000));
      c.source = "aug";
      c.policy_difficulty = 0.75 + 0.58 * rng.Uniform();
      c.validated = true;
      batch.push_back(std::move(c));
    }
    const auto start = SteadyClock::now();
    HEAPA_RETURN_IF_ERROR(session_->InsertChildren(batch));
    ms.push_back(MsSince(start));
    total_ms += ms.back();
    made += batch.size();
  }
  const double cps = static_cast<double>(made) / (total_ms / 1000);
  fmt::print("children  : {} validated children of random seeds, {} per call: {:.0f} children/s\n",
             made, kChildrenPerCall, cps);
  PrintLatency(fmt::format("InsertChildren({})", kChildrenPerCall).c_str(), Summarize(ms));
  figures_["children: children/s"] = {cps, true};
  return Status::OK();
}

Status Runner::Refresh() {
  std::vector<double> ms;
  size_t nodes = 0;
  for (uint32_t i = 0; i < o_.refresh_ops; ++i) {
    const auto start = SteadyClock::now();
    HEAPA_ASSIGN_OR_RETURN(nodes, session_->RefreshDryRun());
    ms.push_back(MsSince(start));
  }
  const Percentiles p = Summarize(ms);
  fmt::print("refresh   : {} ChildAgg dry runs, {} nodes refreshed each\n", o_.refresh_ops, nodes);
  PrintLatency("refresh", p);
  figures_["refresh (ChildAgg dry run): p50 ms"] = {p.p50, false};
  return Status::OK();
}

Status Runner::Reopen() {
  session_.reset();
  HEAPA_ASSIGN_OR_RETURN(const double ms, target_->Reopen());
  HEAPA_RETURN_IF_ERROR(EnsureSession());
  fmt::print("reopen    : {:.1f} ms until the pool serves again\n", ms);
  figures_["reopen: ms"] = {ms, false};
  Memory("after reopen");
  return Status::OK();
}

}  // namespace heapa::bench
