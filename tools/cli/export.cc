#include "tools/cli/export.h"

#include <fmt/core.h>
#include <unistd.h>

#include <vector>

#include "tools/cli/import.h"
#include "tools/dump/progress.h"

namespace heapa::cli {
namespace {

// Gets pipelined per call: a round trip per query made a 1M-query export take minutes.
constexpr size_t kExportBatch = 256;

// A prompt that import stored from a message list: a JSON array of objects. Anything else
// (including text that merely starts with '[') stays a string.
Json PromptValue(const std::string& prompt) {
  if (prompt.empty() || prompt.front() != '[') return prompt;
  Json parsed = Json::parse(prompt, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_array() || parsed.empty()) return prompt;
  for (const Json& m : parsed) {
    if (!m.is_object()) return prompt;
  }
  // Only when writing it back gives the stored text: the import was of exactly this list.
  if (parsed.dump() != prompt) return prompt;
  return parsed;
}

}  // namespace

Json ExportRow(const QueryInfo& info) {
  const QueryRecord& q = info.query;
  Json row = {{"data_source", q.source}, {"prompt", PromptValue(q.prompt)}};
  Json reward_model = {{"style", "rule"}, {"ground_truth", q.answer}};
  Json extra_info = Json::object();
  Json meta = Json::object();
  for (const auto& [key, value] : q.meta) {
    if (key == kMetaAbility) {
      row["ability"] = value;
    } else if (key == kMetaRewardStyle) {
      reward_model["style"] = value;
    } else if (key == kMetaExtraInfo) {
      Json parsed = Json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_object()) {
        extra_info = std::move(parsed);
      } else {
        meta[key] = value;
      }
    } else {
      meta[key] = value;
    }
  }
  row["reward_model"] = std::move(reward_model);
  row["extra_info"] = std::move(extra_info);
  if (!meta.empty()) row["meta"] = std::move(meta);
  Json full = QueryInfoJson(info);
  Json heapa = {{"id", info.id},
                {"state", full["state"]},
                {"reward", full["reward"]},
                {"origin", full["origin"]},
                {"parents", full["parents"]},
                {"times_sampled", full["times_sampled"]},
                {"stats", full["stats"]}};
  row["heapa"] = std::move(heapa);
  return row;
}

Result<ExportSummary> Export(net::Client& client, const ExportOptions& options, std::ostream& out) {
  HEAPA_ASSIGN_OR_RETURN(PoolStats stats, client.Stats(options.pool));
  // Ids are dense from 1 and every created query counts in total_added (the wire's Stats
  // carries no next_id).
  const uint64_t next_id = stats.counters.total_added + 1;
  dump::Progress progress(fmt::format("heapa export {}", options.pool),
                          options.progress && isatty(STDERR_FILENO) == 1);
  ExportSummary summary;
  std::vector<QueryId> ids;
  for (uint64_t first = 1; first < next_id; first += kExportBatch) {
    ids.clear();
    for (uint64_t id = first; id < next_id && ids.size() < kExportBatch; ++id) ids.push_back(id);
    HEAPA_ASSIGN_OR_RETURN(const std::vector<QueryInfo> infos, client.GetMany(options.pool, ids));
    for (const QueryInfo& info : infos) {
      const QueryState s = info.state.state;
      if (!options.include_terminal && (s == QueryState::kEvicted || s == QueryState::kRejected)) {
        ++summary.skipped;
        continue;
      }
      out << Dump(ExportRow(info)) << '\n';
      if (!out) return Status::IOError("cannot write the export");
      ++summary.rows;
    }
    progress.Update(ids.back(), fmt::format("of {} queries", next_id - 1));
  }
  progress.Done();
  return summary;
}

}  // namespace heapa::cli
