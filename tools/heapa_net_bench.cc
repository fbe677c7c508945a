// heapa_net_bench: the loopback benchmark of heapad, through net::Client (issue "heapad").
//
//   heapa_net_bench [--host H] [--port P] [--pool NAME] [--pool-size N] [--batch K] [--steps S]
//                   [--clients C] [--pipeline D] [--seconds T] [--prompt-bytes B] [--seed X]
//
// Against a running daemon: creates a fresh pool, fills it with N scored queries (inserts of
// 5,000), times S training steps of Sample(K, with content) + Report(K x 16 rollouts), then
// runs C concurrent clients that each lease queries and report them ONE per request for T
// seconds (durable small reports per second); with --pipeline D > 1 each client sends its
// single-query reports D at a time, pipelined (Client::ReportMany). Drops the pool at the end.
// Prints its numbers; it is a benchmark, never a test.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <exception>
#include <thread>

#include "net/client.h"
#include "tools/bench/bench_util.h"

namespace heapa {
namespace {

using bench::MsSince;
using bench::SteadyClock;

struct Flags {
  std::string host = "127.0.0.1";
  uint16_t port = 7411;
  std::string pool;
  uint64_t pool_size = 1'000'000;
  uint32_t batch = 512;
  uint32_t steps = 100;
  int clients = 16;
  uint32_t pipeline = 1;
  double seconds = 10;
  size_t prompt_bytes = 100;
  uint64_t seed = 301;
};

std::unique_ptr<net::Client> Connect(const Flags& f) {
  net::ClientOptions o;
  o.host = f.host;
  o.port = f.port;
  o.timeout_ms = 120000;
  auto c = net::Client::Connect(o);
  if (!c.ok()) {
    fmt::print(stderr, "heapa_net_bench: {}\n", c.status().ToString());
    std::exit(1);
  }
  return std::move(c).value();
}

void Check(const Status& s, const char* what) {
  if (s.ok()) return;
  fmt::print(stderr, "heapa_net_bench: {}: {}\n", what, s.ToString());
  std::exit(1);
}

int Main(int argc, char** argv) {
  Flags f;
  CLI::App app{"heapa_net_bench: loopback benchmark of heapad"};
  app.add_option("--host", f.host);
  app.add_option("--port", f.port);
  app.add_option("--pool", f.pool, "pool to create (default: bench-<seed>)");
  app.add_option("--pool-size", f.pool_size);
  app.add_option("--batch", f.batch);
  app.add_option("--steps", f.steps);
  app.add_option("--clients", f.clients);
  app.add_option("--pipeline", f.pipeline,
                 "single-query reports per pipelined call (1: plain Report)")
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--seconds", f.seconds, "length of the concurrent-report phase");
  app.add_option("--prompt-bytes", f.prompt_bytes);
  app.add_option("--seed", f.seed);
  CLI11_PARSE(app, argc, argv);
  if (f.pool.empty()) f.pool = fmt::format("bench-{}", f.seed);

  auto c = Connect(f);
  PoolConfig config;
  config.max_size = f.pool_size;
  Check(c->CreatePool(f.pool, config), "create pool");
  fmt::print("heapa_net_bench: {}:{} pool {} size {} batch {} steps {} clients {}; load {}\n",
             f.host, f.port, f.pool, f.pool_size, f.batch, f.steps, f.clients,
             bench::LoadAverage());

  // Fill.
  bench::Rand rng(f.seed);
  const auto fill_start = SteadyClock::now();
  std::vector<NewQuery> chunk;
  for (uint64_t i = 0; i < f.pool_size; ++i) {
    NewQuery q;
    q.prompt = bench::MakePrompt(i, f.prompt_bytes, &rng);
    q.answer = std::to_string(i);
    q.reward = static_cast<double>(rng.Below(17)) / 8.0 - 1.0;
    chunk.push_back(std::move(q));
    if (chunk.size() == 5000 || i + 1 == f.pool_size) {
      Check(c->Insert(f.pool, chunk).status(), "insert");
      chunk.clear();
    }
  }
  const double fill_s = MsSince(fill_start) / 1000;
  fmt::print("fill    : {} queries in {:.2f} s ({:.0f}/s)\n", f.pool_size, fill_s,
             static_cast<double>(f.pool_size) / fill_s);

  // Training steps.
  std::vector<double> step_ms, sample_ms, report_ms;
  for (uint32_t s = 0; s < f.steps; ++s) {
    const auto t0 = SteadyClock::now();
    SampleRequest req;
    req.count = f.batch;
    auto got = c->Sample(f.pool, req);
    Check(got.status(), "sample");
    const double ts = MsSince(t0);
    std::vector<ReportItem> items;
    for (const SampledQuery& q : *got) {
      std::vector<double> rewards(16);
      for (double& r : rewards) r = rng.Below(2) ? 1.0 : -1.0;
      items.push_back({q.id, q.lease, std::move(rewards), s});
    }
    const auto t1 = SteadyClock::now();
    Check(c->Report(f.pool, items).status(), "report");
    report_ms.push_back(MsSince(t1));
    sample_ms.push_back(ts);
    step_ms.push_back(MsSince(t0));
  }
  const auto st = bench::Summarize(step_ms), ss = bench::Summarize(sample_ms),
             sr = bench::Summarize(report_ms);
  fmt::print("step    : p50 {:.2f} ms  p99 {:.2f} ms  max {:.2f} ms (target < 10 ms)\n", st.p50,
             st.p99, st.max);
  fmt::print("  sample: p50 {:.2f} ms  p99 {:.2f} ms; report: p50 {:.2f} ms  p99 {:.2f} ms\n",
             ss.p50, ss.p99, sr.p50, sr.p99);

  // Concurrent small reports: each client leases a block, then reports one query per request.
  auto before = c->Stats(f.pool);
  Check(before.status(), "stats");
  std::atomic<uint64_t> reports{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto conc_start = SteadyClock::now();
  for (int t = 0; t < f.clients; ++t) {
    threads.emplace_back([&] {
      auto client = Connect(f);
      while (!stop.load()) {
        SampleRequest req;
        req.count = 64;
        auto got = client->Sample(f.pool, req);
        Check(got.status(), "sample");
        if (f.pipeline > 1) {
          std::vector<std::vector<ReportItem>> batch;
          for (size_t i = 0; i < got->size() && !stop.load(); ++i) {
            const SampledQuery& q = (*got)[i];
            batch.push_back({ReportItem{q.id, q.lease, {1.0, -1.0}, 0}});
            if (batch.size() == f.pipeline || i + 1 == got->size()) {
              Check(client->ReportMany(f.pool, batch).status(), "report");
              reports.fetch_add(batch.size());
              batch.clear();
            }
          }
          continue;
        }
        for (const SampledQuery& q : *got) {
          if (stop.load()) break;
          const ReportItem item{q.id, q.lease, {1.0, -1.0}, 0};
          Check(client->Report(f.pool, std::span<const ReportItem>(&item, 1)).status(), "report");
          reports.fetch_add(1);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(f.seconds * 1000)));
  stop.store(true);
  for (std::thread& t : threads) t.join();
  const double conc_s = MsSince(conc_start) / 1000;
  fmt::print(
      "reports : {} clients, pipeline {}, {} single-report requests in {:.1f} s = {:.0f} durable "
      "reports/s (target > 50,000)\n",
      f.clients, f.pipeline, reports.load(), conc_s, static_cast<double>(reports.load()) / conc_s);
  auto after = c->Stats(f.pool);
  Check(after.status(), "stats");
  const uint64_t writes = after->commit_writes - before->commit_writes;
  const uint64_t ops = after->commit_batches - before->commit_batches;
  fmt::print("  group commit: {} synced writes for {} operations ({:.1f} per fsync, max {})\n",
             writes, ops, writes ? static_cast<double>(ops) / static_cast<double>(writes) : 0.0,
             after->commit_max_group);
  Check(c->DropPool(f.pool), "drop pool");
  return 0;
}

}  // namespace
}  // namespace heapa

int main(int argc, char** argv) {
  try {
    return heapa::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heapa_net_bench: %s\n", e.what());
    return 1;
  }
}
