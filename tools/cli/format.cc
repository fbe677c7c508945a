#include "tools/cli/format.h"

#include <fmt/chrono.h>
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <ctime>

namespace heapa::cli {
namespace {

constexpr size_t kMaxCellWidth = 60;    // columns of one table cell
constexpr size_t kMaxInlineItems = 16;  // items of an inline array before it is cut

constexpr std::array<std::string_view, 2> kSampling = {"medium", "mixed"};
constexpr std::array<std::string_view, 2> kEviction = {"reference", "extremes"};
constexpr std::array<std::string_view, 3> kRefresh = {"off", "child", "path"};
constexpr std::array<std::string_view, 2> kWeighting = {"softmax", "linear"};

template <typename Enum, size_t N>
std::string_view NameOf(const std::array<std::string_view, N>& names, Enum value) {
  const size_t i = static_cast<size_t>(value);
  return i < N ? names[i] : std::string_view("unknown");
}

template <typename Enum, size_t N>
Enum ValueOf(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return static_cast<Enum>(0);
}

template <size_t N>
std::vector<std::string> NameList(const std::array<std::string_view, N>& names) {
  return std::vector<std::string>(names.begin(), names.end());
}

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Columns a UTF-8 string takes, approximately: one per code point.
size_t Width(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return !IsContinuation(c); }));
}

// `s` on one line (control characters become spaces), cut to `max` columns with "...".
std::string OneLine(std::string_view s, size_t max) {
  std::string flat(s);
  for (char& c : flat) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (Width(flat) <= max) return flat;
  size_t columns = 0;
  size_t i = 0;
  for (; i < flat.size(); ++i) {
    if (IsContinuation(flat[i])) continue;
    if (columns == max - 3) break;
    ++columns;
  }
  flat.resize(i);
  return flat + "...";
}

std::string Pad(const std::string& s, size_t width) {
  const size_t w = Width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

std::string UtcTime(int64_t ms) {
  constexpr int64_t kYear10000Ms = 253402300800000;  // beyond it, gmtime may fail
  if (ms < 0 || ms >= kYear10000Ms) return fmt::format("{} ms", ms);
  const auto seconds = static_cast<std::time_t>(ms / 1000);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}Z", fmt::gmtime(seconds));
}

// Keys whose value is milliseconds since the epoch.
bool IsTimestamp(std::string_view key) { return key == "created_ms" || key == "lease_deadline_ms"; }

// A scalar as text; a timestamp as "<ms> (<UTC time>)", or in a table cell just the time.
std::string Scalar(std::string_view key, const Json& v, bool cell = false) {
  switch (v.type()) {
    case Json::value_t::null:
      return "-";
    case Json::value_t::string:
      return v.get_ref<const std::string&>();
    case Json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_float:
      return fmt::format("{:.6g}", v.get<double>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      std::string s = v.dump();
      if (!IsTimestamp(key) || v.get<int64_t>() <= 0) return s;
      return cell ? UtcTime(v.get<int64_t>()) : s + " (" + UtcTime(v.get<int64_t>()) + ")";
      return s;
    }
    default:
      return Dump(v);
  }
}

bool IsTableOfObjects(const Json& v) {
  return v.is_array() && !v.empty() &&
         std::all_of(v.begin(), v.end(), [](const Json& e) { return e.is_object(); });
}

std::string InlineArray(std::string_view key, const Json& v) {
  if (v.empty()) return "-";
  std::string out;
  size_t n = 0;
  for (const Json& e : v) {
    if (n == kMaxInlineItems) return out + fmt::format(", ... ({} in all)", v.size());
    if (n++ > 0) out += ", ";
    out += e.is_structured() ? Dump(e) : Scalar(key, e);
  }
  return out;
}

std::string TableOfObjects(const Json& v, size_t indent) {
  std::vector<std::string> headers;
  std::vector<std::string> keys;
  for (const auto& [key, unused] : v.front().items()) {
    keys.push_back(key);
    headers.push_back(IsTimestamp(key) ? key.substr(0, key.size() - 3) : key);  // no "_ms"
  }
  std::vector<std::vector<std::string>> rows;
  for (const Json& e : v) {
    std::vector<std::string>& row = rows.emplace_back();
    for (const std::string& key : keys) {
      const auto it = e.find(key);
      if (it == e.end()) {
        row.push_back("-");
      } else {
        row.push_back(it->is_array() ? InlineArray(key, *it) : Scalar(key, *it, true));
      }
    }
  }
  return RenderTable(headers, rows, indent);
}

void RenderObject(const Json& object, size_t indent, std::string* out) {
  size_t width = 0;
  for (const auto& [key, unused] : object.items()) width = std::max(width, key.size());
  const std::string pad(indent, ' ');
  for (const auto& [key, v] : object.items()) {
    if (v.is_object() && !v.empty()) {
      *out += pad + key + ":\n";
      RenderObject(v, indent + 2, out);
    } else if (IsTableOfObjects(v)) {
      *out += pad + key + ":\n" + TableOfObjects(v, indent + 2);
    } else if (v.is_array()) {
      *out += pad + Pad(key, width) + "  " + InlineArray(key, v) + "\n";
    } else if (v.is_string() && v.get_ref<const std::string&>().find('\n') != std::string::npos) {
      *out += pad + key + ":\n";
      std::string_view text = v.get_ref<const std::string&>();
      while (!text.empty()) {
        const size_t end = std::min(text.find('\n'), text.size());
        *out += pad + "  " + std::string(text.substr(0, end)) + "\n";
        text.remove_prefix(std::min(end + 1, text.size()));
      }
    } else {
      *out += pad + Pad(key, width) + "  " + (v.is_object() ? "-" : Scalar(key, v)) + "\n";
    }
  }
}

Json Optional(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

void AddRecord(const QueryRecord& q, Json* j) {
  Json meta = Json::object();
  for (const auto& [key, value] : q.meta) meta[key] = value;
  (*j)["prompt"] = q.prompt;
  (*j)["answer"] = q.answer;
  (*j)["source"] = q.source;
  (*j)["origin"] = q.origin == Origin::kAugmented ? "augmented" : "seed";
  (*j)["policy_difficulty"] = q.policy_difficulty;
  (*j)["parents"] = q.parents;
  (*j)["meta"] = std::move(meta);
  (*j)["tokens"] = q.tokens;
  (*j)["created_step"] = q.created_step;
  (*j)["created_ms"] = q.created_ms;
}

std::string IdList(const std::vector<QueryId>& ids) {
  if (ids.empty()) return "-";
  return fmt::format("{}", fmt::join(ids, ", "));
}

std::string DepthList(const std::vector<std::pair<QueryId, uint32_t>>& nodes) {
  if (nodes.empty()) return "-";
  std::vector<std::string> parts;
  for (const auto& [id, depth] : nodes) parts.push_back(fmt::format("{} (depth {})", id, depth));
  return fmt::format("{}", fmt::join(parts, ", "));
}

Json DepthJson(const std::vector<std::pair<QueryId, uint32_t>>& nodes) {
  Json out = Json::array();
  for (const auto& [id, depth] : nodes) out.push_back({{"id", id}, {"depth", depth}});
  return out;
}

}  // namespace

std::string_view SamplingName(SamplingMode mode) { return NameOf(kSampling, mode); }
std::string_view EvictionName(EvictionPolicy policy) { return NameOf(kEviction, policy); }
std::string_view RefreshName(RefreshMode mode) { return NameOf(kRefresh, mode); }
std::string_view WeightingName(PathWeighting weighting) { return NameOf(kWeighting, weighting); }
std::string_view OutcomeName(ReportOutcome outcome) {
  // A switch, not a table: a new outcome without a name does not compile (-Wswitch).
  switch (outcome) {
    case ReportOutcome::kApplied:
      return "applied";
    case ReportOutcome::kDuplicate:
      return "duplicate";
    case ReportOutcome::kLate:
      return "late";
    case ReportOutcome::kStale:
      return "stale";
  }
  return "unknown";  // a value off the enum
}
std::vector<std::string> SamplingNames() { return NameList(kSampling); }
std::vector<std::string> EvictionNames() { return NameList(kEviction); }
std::vector<std::string> RefreshNames() { return NameList(kRefresh); }
std::vector<std::string> WeightingNames() { return NameList(kWeighting); }
SamplingMode ParseSampling(std::string_view name) { return ValueOf<SamplingMode>(kSampling, name); }
EvictionPolicy ParseEviction(std::string_view name) {
  return ValueOf<EvictionPolicy>(kEviction, name);
}
RefreshMode ParseRefresh(std::string_view name) { return ValueOf<RefreshMode>(kRefresh, name); }
PathWeighting ParseWeighting(std::string_view name) {
  return ValueOf<PathWeighting>(kWeighting, name);
}

Json ConfigJson(const PoolConfig& c) {
  return Json{{"max_size", c.max_size},
              {"low_fraction", c.low_fraction},
              {"sampling", SamplingName(c.sampling)},
              {"eviction", EvictionName(c.eviction)},
              {"reinsert_below", c.reinsert_below},
              {"rng_seed", c.rng_seed},
              {"default_lease_ms", c.default_lease_ms},
              {"refresh", RefreshName(c.refresh)},
              {"path_weighting", WeightingName(c.path_weighting)},
              {"path_temperature", c.path_temperature},
              {"inverse_adjust", c.inverse_adjust}};
}

Json QueryInfoJson(const QueryInfo& info) {
  const storage::StateRecord& s = info.state;
  const StatsRecord& t = info.stats;
  const bool scored = t.rollouts > 0;
  const double variance = t.rollouts >= 2 ? t.m2 / static_cast<double>(t.rollouts - 1) : 0.0;
  Json j = {{"id", info.id},
            {"state", storage::QueryStateName(s.state)},
            {"prev_state", storage::QueryStateName(s.prev_state)},
            {"reward", s.has_reward ? Json(s.reward) : Json(nullptr)},
            {"times_sampled", s.times_sampled},
            {"lease", s.lease},
            {"lease_deadline_ms", s.lease_deadline_ms},
            {"seq", s.seq}};
  AddRecord(info.query, &j);
  j["stats"] = {{"reports", t.reports},
                {"rollouts", t.rollouts},
                {"mean", scored ? Json(t.mean) : Json(nullptr)},
                {"variance", scored ? Json(variance) : Json(nullptr)},
                {"min", scored ? Json(t.min) : Json(nullptr)},
                {"max", scored ? Json(t.max) : Json(nullptr)},
                {"zero_variance_streak", t.zero_variance_streak},
                {"last_step", t.last_step},
                {"est_reward", t.has_est_reward ? Json(t.est_reward) : Json(nullptr)}};
  return j;
}

Json SampleJson(const std::vector<SampledQuery>& sampled, bool with_content) {
  Json out = Json::array();
  for (const SampledQuery& q : sampled) {
    Json j = {{"id", q.id},
              {"lease", q.lease},
              {"lease_deadline_ms", q.lease_deadline_ms},
              {"from", storage::QueryStateName(q.from)},
              {"reward", Optional(q.reward)}};
    if (with_content) AddRecord(q.query, &j);
    out.push_back(std::move(j));
  }
  return out;
}

Json LineageJson(QueryId id, const LineageView& view) {
  return Json{{"id", id},
              {"parents", view.parents},
              {"children", view.children},
              {"ancestors", DepthJson(view.ancestors)},
              {"descendants", DepthJson(view.descendants)}};
}

Json StatsJson(const PoolStats& s) {
  const storage::CountersRecord& c = s.counters;
  return Json{{"max_size", s.max_size},
              {"pooled", s.pooled},
              {"cold", s.cold},
              {"low", s.low},
              {"high", s.high},
              {"in_flight", s.in_flight},
              {"archived", s.archived},
              {"pending", s.pending},
              {"rejected", s.rejected},
              {"evicted", s.evicted},
              {"low_max", Optional(s.low_max)},
              {"high_min", Optional(s.high_min)},
              {"index_bytes", s.index_bytes},
              {"stats_bytes", s.stats_bytes},
              {"degraded", s.degraded.empty() ? Json(nullptr) : Json(s.degraded)},
              {"counters",
               {{"durable_seq", c.durable_seq},
                {"total_added", c.total_added},
                {"total_duplicates", c.total_duplicates},
                {"total_sampled", c.total_sampled},
                {"total_reports", c.total_reports},
                {"total_reinserted", c.total_reinserted},
                {"total_expired", c.total_expired},
                {"total_evicted", c.total_evicted}}},
              {"commit",
               {{"writes", s.commit_writes},
                {"operations", s.commit_batches},
                {"max_group", s.commit_max_group},
                {"wal_syncs", s.wal_syncs}}}};
}

Json CheckpointsJson(const std::vector<storage::CheckpointInfo>& checkpoints) {
  Json out = Json::array();
  for (const storage::CheckpointInfo& c : checkpoints) {
    out.push_back({{"tag", c.tag}, {"created_ms", c.created_ms}, {"bytes", c.bytes}});
  }
  return out;
}

Json RefreshJson(const std::vector<std::pair<QueryId, double>>& values) {
  Json out = Json::array();
  for (const auto& [id, value] : values) out.push_back({{"id", id}, {"reward", value}});
  return out;
}

std::string SampleHuman(const std::vector<SampledQuery>& sampled, bool with_content) {
  if (sampled.empty()) return "no queries sampled\n";
  std::vector<std::string> headers = {"id", "from", "reward"};
  if (with_content) headers.push_back("prompt");
  std::vector<std::vector<std::string>> rows;
  for (const SampledQuery& q : sampled) {
    std::vector<std::string>& row = rows.emplace_back();
    row.push_back(fmt::format("{}", q.id));
    row.push_back(std::string(storage::QueryStateName(q.from)));
    row.push_back(q.reward ? fmt::format("{:.6g}", *q.reward) : "-");
    if (with_content) row.push_back(q.query.prompt);
  }
  const SampledQuery& first = sampled.front();
  return fmt::format("lease {}, deadline {}, {} {}\n", first.lease,
                     UtcTime(first.lease_deadline_ms), sampled.size(),
                     sampled.size() == 1 ? "query" : "queries") +
         RenderTable(headers, rows);
}

std::string LineageHuman(QueryId id, const LineageView& view) {
  return fmt::format(
      "id           {}\nparents      {}\nchildren     {}\nancestors    {}\n"
      "descendants  {}\n",
      id, IdList(view.parents), IdList(view.children), DepthList(view.ancestors),
      DepthList(view.descendants));
}

std::string RenderHuman(const Json& value) {
  std::string out;
  if (value.is_object()) {
    RenderObject(value, 0, &out);
  } else if (IsTableOfObjects(value)) {
    out = TableOfObjects(value, 0);
  } else if (value.is_array()) {
    for (const Json& e : value) out += (e.is_structured() ? Dump(e) : Scalar("", e)) + "\n";
  } else {
    out = Scalar("", value) + "\n";
  }
  return out;
}

std::string RenderTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows, size_t indent) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string>& head = cells.emplace_back();
  for (std::string h : headers) {
    for (char& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    head.push_back(std::move(h));
  }
  for (const std::vector<std::string>& row : rows) {
    std::vector<std::string>& line = cells.emplace_back();
    for (const std::string& cell : row) line.push_back(OneLine(cell, kMaxCellWidth));
  }
  std::vector<size_t> widths(headers.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Width(line[i]));
    }
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text(indent, ' ');
    for (size_t i = 0; i < line.size() && i < widths.size(); ++i) {
      text += i + 1 < line.size() ? Pad(line[i], widths[i]) + "  " : line[i];
    }
    out += text + "\n";
  }
  return out;
}

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace heapa::cli
