#include "net/metrics.h"

#include <fmt/core.h>

#include <cmath>

#include "protocol_generated.h"

namespace heapa::net {

static_assert(Metrics::kVerbs == static_cast<int>(fb::RequestBody::MAX) + 1,
              "one metrics slot per request kind");

namespace {

constexpr std::array<double, 9> kRewardBounds = {-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1};

std::string VerbName(int verb) {
  return verb == 0 ? "invalid" : fb::EnumNameRequestBody(static_cast<fb::RequestBody>(verb));
}

// A sample value in the text format: integers as integers, +Inf/-Inf/NaN spelled out.
std::string Num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

class Page {
 public:
  void Family(const char* name, const char* type, const char* help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void Sample(const std::string& name, const std::string& labels, double value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += " " + Num(value) + "\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string Label(const char* key, const std::string& value) {
  return fmt::format("{}=\"{}\"", key, value);  // pool names and verbs need no escaping
}

}  // namespace

void Metrics::Observe(int verb, bool ok, double seconds) {
  if (verb < 0 || verb >= kVerbs) verb = 0;
  Verb& v = verbs_[static_cast<size_t>(verb)];
  (ok ? v.ok : v.error).fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
    if (seconds <= kLatencyBounds[i]) {
      v.buckets[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  v.sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::string Metrics::Render(const PoolRegistry& pools, uint64_t direct_replies) const {
  Page p;
  p.Family("heapa_direct_replies_total", "counter",
           "Responses sent by the thread that completed their request (a connection's only "
           "outstanding one), without a hand-off to the I/O thread.");
  p.Sample("heapa_direct_replies_total", "", static_cast<double>(direct_replies));
  p.Family("heapa_requests_total", "counter", "Requests handled, by kind and result.");
  for (int i = 0; i < kVerbs; ++i) {
    const Verb& v = verbs_[static_cast<size_t>(i)];
    const std::string verb = Label("verb", VerbName(i));
    p.Sample("heapa_requests_total", verb + ",result=\"ok\"", static_cast<double>(v.ok.load()));
    p.Sample("heapa_requests_total", verb + ",result=\"error\"",
             static_cast<double>(v.error.load()));
  }
  p.Family("heapa_request_duration_seconds", "histogram",
           "Time to handle a request, durable write included.");
  for (int i = 0; i < kVerbs; ++i) {
    const Verb& v = verbs_[static_cast<size_t>(i)];
    const uint64_t total = v.ok.load() + v.error.load();
    if (total == 0) continue;
    const std::string verb = Label("verb", VerbName(i));
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kLatencyBounds.size(); ++b) {
      cumulative += v.buckets[b].load();
      p.Sample("heapa_request_duration_seconds_bucket",
               verb + "," + Label("le", Num(kLatencyBounds[b])), static_cast<double>(cumulative));
    }
    // Counted after the buckets: a request observed meanwhile cannot make +Inf < a bucket.
    p.Sample("heapa_request_duration_seconds_bucket", verb + ",le=\"+Inf\"",
             static_cast<double>(std::max(total, cumulative)));
    p.Sample("heapa_request_duration_seconds_sum", verb,
             static_cast<double>(v.sum_ns.load()) / 1e9);
    p.Sample("heapa_request_duration_seconds_count", verb,
             static_cast<double>(std::max(total, cumulative)));
  }

  struct PoolView {
    std::string label;
    PoolStats stats;
    RewardHistogram rewards;
  };
  std::vector<PoolView> views;
  for (const std::string& name : pools.Names()) {
    auto pool = pools.Find(name);
    if (!pool.ok()) continue;  // dropped meanwhile
    views.push_back({Label("pool", name), (*pool)->Stats(), (*pool)->Rewards(kRewardBounds)});
  }
  p.Family("heapa_pool_queries", "gauge", "Queries in each state.");
  for (const PoolView& v : views) {
    const PoolStats& s = v.stats;
    const std::pair<const char*, uint64_t> states[] = {
        {"COLD", s.cold},           {"LOW", s.low},           {"HIGH", s.high},
        {"IN_FLIGHT", s.in_flight}, {"ARCHIVED", s.archived}, {"PENDING", s.pending},
        {"REJECTED", s.rejected},   {"EVICTED", s.evicted}};
    for (const auto& [state, n] : states) {
      p.Sample("heapa_pool_queries", v.label + "," + Label("state", state), static_cast<double>(n));
    }
  }
  p.Family("heapa_pool_max_size", "gauge", "Capacity of COLD + LOW + HIGH.");
  for (const PoolView& v : views) {
    p.Sample("heapa_pool_max_size", v.label, static_cast<double>(v.stats.max_size));
  }
  p.Family("heapa_pool_frontier_reward", "gauge", "The frontier: LOW's maximum, HIGH's minimum.");
  for (const PoolView& v : views) {
    if (v.stats.low_max)
      p.Sample("heapa_pool_frontier_reward", v.label + ",side=\"low_max\"", *v.stats.low_max);
    if (v.stats.high_min)
      p.Sample("heapa_pool_frontier_reward", v.label + ",side=\"high_min\"", *v.stats.high_min);
  }
  p.Family("heapa_pool_reward", "histogram", "Rewards of the scored queries in LOW and HIGH.");
  for (const PoolView& v : views) {
    for (size_t b = 0; b < v.rewards.upper_bounds.size(); ++b) {
      p.Sample("heapa_pool_reward_bucket", v.label + "," + Label("le", Num(kRewardBounds[b])),
               static_cast<double>(v.rewards.cumulative[b]));
    }
    p.Sample("heapa_pool_reward_bucket", v.label + ",le=\"+Inf\"",
             static_cast<double>(v.rewards.count));
    p.Sample("heapa_pool_reward_sum", v.label, v.rewards.sum);
    p.Sample("heapa_pool_reward_count", v.label, static_cast<double>(v.rewards.count));
  }
  auto gauge = [&](const char* name, const char* help, auto value) {
    p.Family(name, "gauge", help);
    for (const PoolView& v : views) p.Sample(name, v.label, static_cast<double>(value(v.stats)));
  };
  auto counter = [&](const char* name, const char* help, auto value) {
    p.Family(name, "counter", help);
    for (const PoolView& v : views) p.Sample(name, v.label, static_cast<double>(value(v.stats)));
  };
  gauge("heapa_pool_pending_validations", "Augmented children waiting for Validate.",
        [](const PoolStats& s) { return s.pending; });
  gauge("heapa_pool_leases_in_flight", "Queries leased and not reported.",
        [](const PoolStats& s) { return s.in_flight; });
  gauge("heapa_pool_leases_expired", "In-flight leases past their deadline.",
        [](const PoolStats& s) { return s.expired_leases; });
  counter("heapa_pool_added_total", "Queries added.",
          [](const PoolStats& s) { return s.counters.total_added; });
  counter("heapa_pool_duplicates_total", "Inserts that named existing content.",
          [](const PoolStats& s) { return s.counters.total_duplicates; });
  counter("heapa_pool_sampled_total", "Queries leased by Sample.",
          [](const PoolStats& s) { return s.counters.total_sampled; });
  counter("heapa_pool_reports_total", "Reports recorded.",
          [](const PoolStats& s) { return s.counters.total_reports; });
  counter("heapa_pool_evicted_total", "Queries evicted.",
          [](const PoolStats& s) { return s.counters.total_evicted; });
  counter("heapa_pool_reinserted_total", "Queries returned from the archive.",
          [](const PoolStats& s) { return s.counters.total_reinserted; });
  counter("heapa_pool_expired_total", "Leases that expired.",
          [](const PoolStats& s) { return s.counters.total_expired; });
  gauge("heapa_pool_durable_seq", "The last operation known durable.",
        [](const PoolStats& s) { return s.counters.durable_seq; });
  counter("heapa_pool_commit_writes_total", "Synced writes (group commits) since open.",
          [](const PoolStats& s) { return s.commit_writes; });
  counter("heapa_pool_commit_operations_total", "Operations those writes carried.",
          [](const PoolStats& s) { return s.commit_batches; });
  gauge("heapa_pool_commit_max_group", "The most operations one synced write carried.",
        [](const PoolStats& s) { return s.commit_max_group; });
  counter("heapa_pool_wal_syncs_total",
          "WAL syncs since the pool was opened, as RocksDB counts them (at least one "
          "per synced write).",
          [](const PoolStats& s) { return s.wal_syncs; });
  gauge("heapa_pool_index_bytes", "Memory of the in-memory index.",
        [](const PoolStats& s) { return s.index_bytes; });
  gauge("heapa_pool_stats_bytes", "Memory of every query's running statistics.",
        [](const PoolStats& s) { return s.stats_bytes; });
  gauge("heapa_pool_degraded", "1 when a failed write turned the pool read-only.",
        [](const PoolStats& s) { return s.degraded.empty() ? 0 : 1; });
  return p.Take();
}

}  // namespace heapa::net
