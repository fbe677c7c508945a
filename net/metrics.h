// net::Metrics: what heapad exports at /metrics, in the Prometheus text format (0.0.4).
//
// The service records every request (its verb, success, time); Render() adds, per pool, the
// sizes of each state, the frontier (LOW max, HIGH min), a reward histogram of the frontier,
// pending validations, in-flight and expired leases, the operation counters, group-commit
// writes and sizes, the durable sequence and whether storage turned the pool read-only.
//
// Thread safety: Observe() is lock-free and may be called concurrently; Render() reads the
// counters without stopping them (each value is consistent, the page as a whole is not a
// snapshot).
#ifndef HEAPA_NET_METRICS_H_
#define HEAPA_NET_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "net/pool_registry.h"

namespace heapa::net {

class Metrics {
 public:
  // Request kinds: the protocol's RequestBody union (0 stands for a frame that did not
  // verify or carried no body).
  static constexpr int kVerbs = 23;
  static constexpr std::array<double, 12> kLatencyBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5};

  void Observe(int verb, bool ok, double seconds);
  // The page. `direct_replies`: Server::direct_replies().
  std::string Render(const PoolRegistry& pools, uint64_t direct_replies) const;

 private:
  struct Verb {
    std::atomic<uint64_t> ok{0}, error{0};
    std::array<std::atomic<uint64_t>, kLatencyBounds.size()> buckets{};  // not cumulative
    std::atomic<uint64_t> sum_ns{0};
  };
  std::array<Verb, kVerbs> verbs_;
};

}  // namespace heapa::net

#endif  // HEAPA_NET_METRICS_H_
