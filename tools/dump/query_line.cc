#include "tools/dump/query_line.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string_view>

#include "tools/cli/format.h"

namespace heapa::dump {
namespace {

// True when `s` is valid UTF-8 without anything JSON escapes: then it is copied as is.
bool Plain(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == '"' || c == '\\') return false;
      ++i;
      continue;
    }
    size_t n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
    if (n == 0 || c > 0xF4 || i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    // Overlong, surrogate and beyond-U+10FFFF forms: let nlohmann decide.
    if ((c == 0xE0 && static_cast<unsigned char>(s[i + 1]) < 0xA0) ||
        (c == 0xED && static_cast<unsigned char>(s[i + 1]) > 0x9F) ||
        (c == 0xF0 && static_cast<unsigned char>(s[i + 1]) < 0x90) ||
        (c == 0xF4 && static_cast<unsigned char>(s[i + 1]) > 0x8F)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

void Str(std::string_view s, std::string* out) {
  if (Plain(s)) {
    out->push_back('"');
    out->append(s);
    out->push_back('"');
  } else {
    out->append(cli::Dump(cli::Json(std::string(s))));
  }
}

void Num(double x, std::string* out) {
  if (!std::isfinite(x)) {
    out->append("null");
    return;
  }
  char buf[64];
  char* end = nlohmann::detail::to_chars(buf, buf + sizeof(buf), x);
  out->append(buf, end);
}

void OptNum(bool present, double x, std::string* out) {
  if (present) {
    Num(x, out);
  } else {
    out->append("null");
  }
}

template <typename I>
void Int(I x, std::string* out) {
  const fmt::format_int f(x);
  out->append(f.data(), f.size());
}

void Key(const char* key, std::string* out) {
  out->push_back(',');
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

}  // namespace

void AppendQueryLine(const QueryInfo& info, bool with_content, std::string* out) {
  const storage::StateRecord& s = info.state;
  const StatsRecord& t = info.stats;
  const QueryRecord& q = info.query;
  // A meta key given twice collapses into one JSON member; the generic path handles that.
  for (size_t i = 0; i < q.meta.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (q.meta[i].first == q.meta[j].first) {
        cli::Json j2 = cli::QueryInfoJson(info);
        if (!with_content) {
          for (const char* key : {"prompt", "answer", "meta", "tokens"}) j2.erase(key);
        }
        out->append(cli::Dump(j2));
        return;
      }
    }
  }
  out->append("{\"id\":");
  Int(info.id, out);
  Key("state", out);
  Str(storage::QueryStateName(s.state), out);
  Key("prev_state", out);
  Str(storage::QueryStateName(s.prev_state), out);
  Key("reward", out);
  OptNum(s.has_reward, s.reward, out);
  Key("times_sampled", out);
  Int(s.times_sampled, out);
  Key("lease", out);
  Int(s.lease, out);
  Key("lease_deadline_ms", out);
  Int(s.lease_deadline_ms, out);
  Key("seq", out);
  Int(s.seq, out);
  if (with_content) {
    Key("prompt", out);
    Str(q.prompt, out);
    Key("answer", out);
    Str(q.answer, out);
  }
  Key("source", out);
  Str(q.source, out);
  Key("origin", out);
  out->append(q.origin == Origin::kAugmented ? "\"augmented\"" : "\"seed\"");
  Key("policy_difficulty", out);
  Num(q.policy_difficulty, out);
  Key("parents", out);
  out->push_back('[');
  for (size_t i = 0; i < q.parents.size(); ++i) {
    if (i > 0) out->push_back(',');
    Int(q.parents[i], out);
  }
  out->push_back(']');
  if (with_content) {
    Key("meta", out);
    out->push_back('{');
    for (size_t i = 0; i < q.meta.size(); ++i) {
      if (i > 0) out->push_back(',');
      Str(q.meta[i].first, out);
      out->push_back(':');
      Str(q.meta[i].second, out);
    }
    out->push_back('}');
    Key("tokens", out);
    out->push_back('[');
    for (size_t i = 0; i < q.tokens.size(); ++i) {
      if (i > 0) out->push_back(',');
      Int(q.tokens[i], out);
    }
    out->push_back(']');
  }
  Key("created_step", out);
  Int(q.created_step, out);
  Key("created_ms", out);
  Int(q.created_ms, out);
  // The statistics, as QueryInfoJson computes them.
  const bool scored = t.rollouts > 0;
  const double variance = t.rollouts >= 2 ? t.m2 / static_cast<double>(t.rollouts - 1) : 0.0;
  out->append(",\"stats\":{\"reports\":");
  Int(t.reports, out);
  Key("rollouts", out);
  Int(t.rollouts, out);
  Key("mean", out);
  OptNum(scored, t.mean, out);
  Key("variance", out);
  OptNum(scored, variance, out);
  Key("min", out);
  OptNum(scored, t.min, out);
  Key("max", out);
  OptNum(scored, t.max, out);
  Key("zero_variance_streak", out);
  Int(t.zero_variance_streak, out);
  Key("last_step", out);
  Int(t.last_step, out);
  Key("est_reward", out);
  OptNum(t.has_est_reward, t.est_reward, out);
  out->append("}}");
}

}  // namespace heapa::dump
