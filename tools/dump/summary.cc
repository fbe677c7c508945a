#include "tools/dump/summary.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "tools/dump/pool_view.h"

namespace heapa::dump {
namespace {

using storage::QueryState;

void Widen(std::optional<double>* lo, std::optional<double>* hi, double x) {
  if (!*lo || x < **lo) *lo = x;
  if (!*hi || x > **hi) *hi = x;
}

std::string Opt(const std::optional<double>& x) { return x ? fmt::format("{:.6g}", *x) : "-"; }
cli::Json OptJson(const std::optional<double>& x) { return x ? cli::Json(*x) : cli::Json(nullptr); }

}  // namespace

Result<PoolSummary> Summarize(const storage::Store& store, uint32_t bins,
                              std::optional<double> range_lo, std::optional<double> range_hi,
                              Progress* progress) {
  if (bins == 0) return Status::InvalidArgument("the histogram needs at least one bin");
  HEAPA_ASSIGN_OR_RETURN(PoolView view, Load(store, LoadParts{.states = true}, progress));
  if (progress != nullptr) progress->Done();
  PoolSummary s;
  s.config = view.config;
  s.counters = view.counters;
  std::optional<double> lo, hi;
  for (const auto& st : view.states) {
    if (!st) continue;
    ++s.per_state[static_cast<size_t>(st->state)];
    if (!st->has_reward) continue;
    ++s.scored;
    Widen(&lo, &hi, st->reward);
    if (st->state == QueryState::kLow) Widen(&s.low_min, &s.low_max, st->reward);
    if (st->state == QueryState::kHigh) Widen(&s.high_min, &s.high_max, st->reward);
  }
  if (range_lo) lo = range_lo;
  if (range_hi) hi = range_hi;
  if (!lo || !hi) return s;  // nothing scored: no histogram
  if (!(*hi > *lo)) {        // one value: a unit-wide bin range around it
    lo = *lo - 0.5;
    hi = *hi + 0.5;
  }
  const double width = (*hi - *lo) / bins;
  s.bins.resize(bins);
  for (uint32_t i = 0; i < bins; ++i) {
    s.bins[i].lo = *lo + width * i;
    s.bins[i].hi = i + 1 == bins ? *hi : *lo + width * (i + 1);
  }
  for (const auto& st : view.states) {
    if (!st || !st->has_reward || st->reward < *lo || st->reward > *hi) continue;
    const auto i = std::min<size_t>(bins - 1, static_cast<size_t>((st->reward - *lo) / width));
    HistogramBin& b = s.bins[i];
    ++(st->state == QueryState::kLow ? b.low : st->state == QueryState::kHigh ? b.high : b.other);
  }
  return s;
}

std::string SummaryText(const PoolSummary& s) {
  std::string out;
  const auto count = [&](QueryState st) { return s.per_state[static_cast<size_t>(st)]; };
  const uint64_t pooled = count(QueryState::kCold) + count(QueryState::kLow) +
                          count(QueryState::kHigh);
  out += fmt::format("queries      {} (next id {})\n", s.counters.next_id - 1, s.counters.next_id);
  out += fmt::format("pooled       {} of max_size {} (low_fraction {})\n", pooled,
                     s.config.max_size, s.config.low_fraction);
  for (uint8_t i = 0; i <= storage::kMaxQueryState; ++i) {
    out += fmt::format("  {:<10} {}\n", storage::QueryStateName(static_cast<QueryState>(i)),
                       s.per_state[i]);
  }
  out += fmt::format("LOW rewards  [{}, {}]\nHIGH rewards [{}, {}]\n", Opt(s.low_min),
                     Opt(s.low_max), Opt(s.high_min), Opt(s.high_max));
  const storage::CountersRecord& c = s.counters;
  out += fmt::format(
      "counters     added {} duplicates {} sampled {} reports {} reinserted {} expired {} "
      "evicted {}\n",
      c.total_added, c.total_duplicates, c.total_sampled, c.total_reports, c.total_reinserted,
      c.total_expired, c.total_evicted);
  if (s.bins.empty()) return out + "rewards      none scored\n";
  out += fmt::format("rewards of {} scored queries (L = LOW, H = HIGH, o = other states):\n",
                     s.scored);
  uint64_t peak = 1;
  for (const HistogramBin& b : s.bins) peak = std::max(peak, b.low + b.high + b.other);
  constexpr double kBarWidth = 50;
  for (const HistogramBin& b : s.bins) {
    const auto bar = [&](uint64_t n, char ch) {
      return std::string(static_cast<size_t>(std::lround(kBarWidth * n / peak)), ch);
    };
    out += fmt::format("  [{:>9.4g}, {:>9.4g}{} {:>8} {}{}{}\n", b.lo, b.hi,
                       &b == &s.bins.back() ? "]" : ")", b.low + b.high + b.other,
                       bar(b.low, 'L'), bar(b.high, 'H'), bar(b.other, 'o'));
  }
  return out;
}

cli::Json SummaryJson(const PoolSummary& s) {
  cli::Json states = cli::Json::object();
  for (uint8_t i = 0; i <= storage::kMaxQueryState; ++i) {
    states[std::string(storage::QueryStateName(static_cast<QueryState>(i)))] = s.per_state[i];
  }
  cli::Json bins = cli::Json::array();
  for (const HistogramBin& b : s.bins) {
    bins.push_back({{"lo", b.lo}, {"hi", b.hi}, {"low", b.low}, {"high", b.high},
                    {"other", b.other}});
  }
  const storage::CountersRecord& c = s.counters;
  return cli::Json{{"queries", c.next_id - 1},
                   {"max_size", s.config.max_size},
                   {"states", std::move(states)},
                   {"low_min", OptJson(s.low_min)},
                   {"low_max", OptJson(s.low_max)},
                   {"high_min", OptJson(s.high_min)},
                   {"high_max", OptJson(s.high_max)},
                   {"scored", s.scored},
                   {"counters",
                    {{"total_added", c.total_added},
                     {"total_duplicates", c.total_duplicates},
                     {"total_sampled", c.total_sampled},
                     {"total_reports", c.total_reports},
                     {"total_reinserted", c.total_reinserted},
                     {"total_expired", c.total_expired},
                     {"total_evicted", c.total_evicted}}},
                   {"histogram", std::move(bins)}};
}

}  // namespace heapa::dump
