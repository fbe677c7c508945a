// heapa_bench (heapa-bench): the benchmark of heapa against the Redis baseline, in the style of
// RocksDB's db_bench.
//
//   heapa-bench [--benchmarks=fill,step,sample,report,children,refresh,reopen]
//               [--target=inproc,heapad,redis] [--redis-fsync=always,everysec]
//               [--pool-size N] [--batch K] [--clients C] [--durability=sync|nosync] ...
//
// Each target gets a fresh pool and runs the benchmarks in order (workloads.h): inproc is a
// heapa::Pool in this process; heapad is the daemon over loopback through net::Client (started
// from --heapad, default next to this binary, or a running one at --host/--port); redis is the
// baseline of tools/bench/redis_pool.h on a redis-server started here, once per --redis-fsync
// policy. Prints throughput, p50/p99/p999 latency and resident memory per benchmark, then one
// table of every figure side by side with the ratios heapa / redis of this run. A benchmark,
// never a test: it prints what it measures and fails only when an operation fails.
#include <fmt/core.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/utsname.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/bench_util.h"
#include "tools/bench/process.h"
#include "tools/bench/target.h"
#include "tools/bench/workloads.h"
#include "tools/flag_checks.h"

namespace heapa::bench {
namespace {

struct Flags {
  WorkloadOptions w;
  std::vector<std::string> benchmarks = {"fill",     "step",    "sample", "report",
                                         "children", "refresh", "reopen"};
  std::vector<std::string> targets = {"inproc", "heapad", "redis"};
  std::vector<std::string> redis_fsync = {"always", "everysec"};
  std::string durability = "sync";
  std::string dir;
  std::string db;
  std::string heapad;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string redis_server = "redis-server";
};

// A fresh directory under --dir or /tmp, removed at exit.
class WorkDir {
 public:
  explicit WorkDir(const std::string& parent) {
    std::string tmpl = (parent.empty() ? std::string("/tmp") : parent) + "/heapa_bench.XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~WorkDir() {
    std::error_code ec;  // best effort: a leftover temp dir is not worth failing the run
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct TargetRun {
  std::string name;
  std::string description;
  Figures figures;
  std::string error;  // empty when every benchmark ran
};

TargetRun RunTarget(const Flags& f, const std::string& kind, const std::string& fsync,
                    const std::string& root) {
  TargetOptions o;
  o.work_dir = root + "/" + (kind == "redis" ? "redis-" + fsync : kind);
  std::filesystem::create_directories(o.work_dir);
  o.pool_size = f.w.pool_size;
  o.seed = f.w.seed;
  o.sync = f.durability == "sync";
  o.pool_dir = f.db;
  o.heapad_path = f.heapad.empty() ? SelfDir() + "/heapad" : f.heapad;
  o.host = f.host;
  o.port = f.port;
  o.redis_server = f.redis_server;
  o.appendfsync = fsync;
  std::unique_ptr<Target> target = kind == "inproc"   ? NewInProcTarget(o)
                                   : kind == "heapad" ? NewHeapadTarget(o)
                                                      : NewRedisTarget(o);
  TargetRun run;
  run.name = kind == "redis" ? "redis-" + fsync : kind;
  if (!target) {
    run.error = "this build has no Redis client (hiredis)";
    fmt::print("\n=== {}: skipped: {}\n", run.name, run.error);
    return run;
  }
  Status st = target->Start();
  run.description = target->Describe();
  fmt::print("\n=== {}: {}; load average {}\n", run.name, run.description, LoadAverage());
  if (st.ok()) {
    Runner runner(f.w, target.get());
    for (const std::string& b : f.benchmarks) {
      st = runner.Run(b);
      if (!st.ok()) {
        st = Status::Internal(fmt::format("{}: {}", b, st.ToString()));
        break;
      }
    }
    if (st.ok()) st = runner.PrintCounts();
    run.figures = runner.figures();
  }
  if (!st.ok()) {
    run.error = st.ToString();
    fmt::print("=== {}: FAILED: {}\n", run.name, run.error);
  }
  target->Stop();
  std::fflush(stdout);
  return run;
}

// Every figure side by side, then heapa / redis for each pair measured in this run.
void PrintComparison(const std::vector<TargetRun>& runs) {
  std::vector<std::string> metrics;  // in first-seen order
  for (const TargetRun& r : runs) {
    for (const auto& [name, fig] : r.figures.items()) {
      if (std::find(metrics.begin(), metrics.end(), name) == metrics.end()) {
        metrics.push_back(name);
      }
    }
  }
  std::vector<std::pair<size_t, size_t>> pairs;  // (heapa run, redis run)
  for (size_t a = 0; a < runs.size(); ++a) {
    if (runs[a].name.rfind("redis", 0) == 0) continue;
    for (size_t b = 0; b < runs.size(); ++b) {
      if (runs[b].name.rfind("redis", 0) == 0) pairs.emplace_back(a, b);
    }
  }
  fmt::print("\nload average at the end: {}\n", LoadAverage());
  fmt::print("\n| metric | better |");
  for (const TargetRun& r : runs) fmt::print(" {} |", r.name);
  for (const auto& [a, b] : pairs) fmt::print(" {} / {} |", runs[a].name, runs[b].name);
  fmt::print("\n| --- | --- |");
  for (size_t i = 0; i < runs.size() + pairs.size(); ++i) fmt::print(" ---: |");
  fmt::print("\n");
  for (const std::string& m : metrics) {
    bool higher = true;
    for (const TargetRun& r : runs) {
      if (const Figure* v = r.figures.find(m)) higher = v->higher_is_better;
    }
    fmt::print("| {} | {} |", m, higher ? "higher" : "lower");
    const auto value = [&](const TargetRun& r) { return r.figures.find(m); };
    for (const TargetRun& r : runs) {
      const Figure* v = value(r);
      if (v == nullptr) {
        fmt::print(" - |");
      } else if (v->value >= 100) {
        fmt::print(" {:.0f} |", v->value);
      } else {
        fmt::print(" {:.3g} |", v->value);
      }
    }
    for (const auto& [a, b] : pairs) {
      const Figure* x = value(runs[a]);
      const Figure* y = value(runs[b]);
      if (x == nullptr || y == nullptr || y->value == 0) {
        fmt::print(" - |");
      } else {
        fmt::print(" {:.3g} |", x->value / y->value);
      }
    }
    fmt::print("\n");
  }
  for (const TargetRun& r : runs) {
    if (!r.error.empty()) fmt::print("{}: incomplete: {}\n", r.name, r.error);
  }
}

int Main(int argc, char** argv) {
  Flags f;
  CLI::App app{"heapa-bench: heapa (in-process and heapad) against a Redis baseline"};
  app.add_option("--benchmarks", f.benchmarks, "comma-separated, run in order")
      ->delimiter(',')
      ->check(CLI::IsMember({"fill", "step", "sample", "report", "children", "refresh", "reopen"}))
      ->capture_default_str();
  app.add_option("--target", f.targets, "comma-separated: inproc, heapad, redis")
      ->delimiter(',')
      ->check(CLI::IsMember({"inproc", "heapad", "redis"}))
      ->capture_default_str();
  app.add_option("--redis-fsync", f.redis_fsync, "appendfsync policies of the redis target")
      ->delimiter(',')
      ->check(CLI::IsMember({"always", "everysec", "no"}))
      ->capture_default_str();
  app.add_option("--durability", f.durability, "heapa targets: fdatasync every write or not")
      ->check(CLI::IsMember({"sync", "nosync"}))
      ->capture_default_str();
  app.add_option("--pool-size", f.w.pool_size, "queries to fill")->capture_default_str();
  app.add_option("--batch", f.w.batch, "queries per Sample/Report of a step and of sample")
      ->check(CLI::Range(1u, 1u << 16))
      ->capture_default_str();
  app.add_option("--steps", f.w.steps, "training steps of step")->capture_default_str();
  app.add_option("--warmup-steps", f.w.warmup_steps,
                 "step: unmeasured steps first (ages the pool: its queries get statistics)")
      ->capture_default_str();
  app.add_option("--rollout-ms", f.w.rollout_ms,
                 "step: idle time between the Sample and the Report of each measured step, as a "
                 "trainer's rollouts take (0: back to back); at most 60 s, well inside the "
                 "default lease and heapad's idle timeout (both 600 s)")
      ->check(CLI::Range(0u, 60'000u))
      ->capture_default_str();
  app.add_option("--sample-ops", f.w.sample_ops, "Sample(batch) calls of sample")
      ->capture_default_str();
  app.add_option("--small-ops", f.w.small_ops, "Sample(1) calls of sample")->capture_default_str();
  app.add_option("--pipeline", f.w.pipeline,
                 "report: single-query reports per pipelined call (1: one Report per call)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--clients", f.w.clients, "concurrent clients of report")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--seconds", f.w.seconds, "length of report")->capture_default_str();
  app.add_option("--children", f.w.children, "children to insert")->capture_default_str();
  app.add_option("--refresh-ops", f.w.refresh_ops, "refresh dry runs")->capture_default_str();
  app.add_option("--prompt-bytes", f.w.prompt_bytes, "prompt size")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--insert-batch", f.w.insert_batch, "queries per Insert call of fill")
      ->check(CLI::Range(size_t{1}, size_t{1} << 16))
      ->capture_default_str();
  app.add_option("--fill-pipeline", f.w.fill_pipeline,
                 "fill: Inserts per pipelined call (1: one Insert per call)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--seed", f.w.seed, "seed of texts, rewards and pool RNG")->capture_default_str();
  app.add_option("--dir", f.dir, "where to make the temp dir (default /tmp; removed at exit)");
  app.add_option("--db", f.db,
                 "inproc: keep the pool in this directory (reused when it exists) for later "
                 "inspection with heapa-check / heapa-dump");
  app.add_option("--heapad", f.heapad, "heapad binary to start (default: next to this binary)");
  app.add_option("--host", f.host, "with --port: use a running heapad instead");
  app.add_option("--port", f.port, "port of a running heapad (0: start one)");
  app.add_option("--redis-server", f.redis_server, "redis-server binary")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  WorkDir root(f.dir);
  if (root.path().empty()) {
    fmt::print(stderr, "heapa-bench: cannot make a temp dir\n");
    return 1;
  }
  utsname u{};
  uname(&u);
  fmt::print(
      "heapa-bench: benchmarks {} targets {} redis-fsync {} durability {} pool-size {} "
      "batch {} steps {} warmup-steps {} rollout-ms {} clients {} pipeline {} fill-pipeline {} "
      "prompt-bytes {} seed {}\n",
      fmt::join(f.benchmarks, ","), fmt::join(f.targets, ","), fmt::join(f.redis_fsync, ","),
      f.durability, f.w.pool_size, f.w.batch, f.w.steps, f.w.warmup_steps, f.w.rollout_ms,
      f.w.clients, f.w.pipeline, f.w.fill_pipeline, f.w.prompt_bytes, f.w.seed);
  fmt::print("machine: {} {}, {} cores; dir {}; load average {}\n", u.sysname, u.release,
             std::thread::hardware_concurrency(), root.path(), LoadAverage());

  std::vector<TargetRun> runs;
  for (const std::string& t : f.targets) {
    if (t == "redis") {
      for (const std::string& fs : f.redis_fsync) runs.push_back(RunTarget(f, t, fs, root.path()));
    } else {
      runs.push_back(RunTarget(f, t, "", root.path()));
    }
  }
  PrintComparison(runs);
  for (const TargetRun& r : runs) {
    if (!r.error.empty()) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace heapa::bench

int main(int argc, char** argv) {
  try {
    return heapa::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "heapa-bench: {}\n", e.what());
    return 1;
  }
}
