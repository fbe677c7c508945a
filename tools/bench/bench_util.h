// Helpers of tools/heapa_bench.cc: a seeded generator, prompt text, latency percentiles and
// the process's memory and load, read from /proc. Header-only; single-threaded use.
#ifndef HEAPA_TOOLS_BENCH_BENCH_UTIL_H_
#define HEAPA_TOOLS_BENCH_BENCH_UTIL_H_

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace heapa::bench {

// SplitMix64: a small deterministic generator; the whole run is a function of --seed.
class Rand {
 public:
  explicit Rand(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t s_;
};

constexpr std::array<std::string_view, 24> kWords = {
    "find",  "the",     "sum",   "of",     "all",    "integers", "such",  "that",
    "prime", "divides", "each",  "square", "root",   "modulo",   "least", "positive",
    "real",  "number",  "graph", "vertex", "circle", "triangle", "area",  "probability"};

// About `bytes` of pseudo-random text; the leading index makes every prompt distinct.
inline std::string MakePrompt(uint64_t i, size_t bytes, Rand* rng) {
  std::string p = fmt::format("Problem {}:", i);
  while (p.size() < bytes) {
    p += ' ';
    p += kWords[rng->Below(kWords.size())];
  }
  return p;
}

using SteadyClock = std::chrono::steady_clock;
inline double MsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
};
// Nearest-rank percentiles of latencies in ms.
inline Percentiles Summarize(std::vector<double> ms) {
  Percentiles p;
  if (ms.empty()) return p;
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double q) {
    const size_t r = static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size())));
    return ms[std::clamp<size_t>(r, 1, ms.size()) - 1];
  };
  p.p50 = rank(0.50);
  p.p99 = rank(0.99);
  p.p999 = rank(0.999);
  p.max = ms.back();
  return p;
}

// VmRSS and VmHWM of this process, in KiB; 0 when /proc is unavailable.
struct Memory {
  uint64_t rss_kib = 0, hwm_kib = 0;
};
inline Memory ReadMemory() {
  Memory m;
  std::ifstream in("/proc/self/status");
  std::string key;
  uint64_t kib = 0;
  while (in >> key) {
    if (key == "VmRSS:" && in >> kib) m.rss_kib = kib;
    if (key == "VmHWM:" && in >> kib) m.hwm_kib = kib;
  }
  return m;
}

// The 1, 5 and 15 minute load averages: a busy machine skews every number here.
inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string l1, l5, l15;
  in >> l1 >> l5 >> l15;
  return fmt::format("{} {} {}", l1, l5, l15);
}

}  // namespace heapa::bench

#endif  // HEAPA_TOOLS_BENCH_BENCH_UTIL_H_
