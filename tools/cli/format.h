// The output of the heapa command line: the pool's values as JSON (snake_case keys, ids as
// numbers, in a stable key order) and a compact, aligned human rendering of that JSON.
//
// Thread safety: stateless functions.
#ifndef HEAPA_TOOLS_CLI_FORMAT_H_
#define HEAPA_TOOLS_CLI_FORMAT_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "index/pool_options.h"
#include "index/types.h"
#include "storage/pool_dir.h"

namespace heapa::cli {

// Keys keep the order they were added in, so that human output reads naturally.
using Json = nlohmann::ordered_json;

// The names the command line uses for the config enums, and back. The parsers take a name
// the command line already checked against the *Names() lists.
std::string_view SamplingName(SamplingMode mode);
std::string_view EvictionName(EvictionPolicy policy);
std::string_view RefreshName(RefreshMode mode);
std::string_view WeightingName(PathWeighting weighting);
std::string_view OutcomeName(ReportOutcome outcome);
std::vector<std::string> SamplingNames();
std::vector<std::string> EvictionNames();
std::vector<std::string> RefreshNames();
std::vector<std::string> WeightingNames();
SamplingMode ParseSampling(std::string_view name);
EvictionPolicy ParseEviction(std::string_view name);
RefreshMode ParseRefresh(std::string_view name);
PathWeighting ParseWeighting(std::string_view name);

Json ConfigJson(const PoolConfig& config);
Json QueryInfoJson(const QueryInfo& info);
// One object per sampled query; the record's fields are included when `with_content`.
Json SampleJson(const std::vector<SampledQuery>& sampled, bool with_content);
Json LineageJson(QueryId id, const LineageView& view);
Json StatsJson(const PoolStats& stats);
Json CheckpointsJson(const std::vector<storage::CheckpointInfo>& checkpoints);
Json RefreshJson(const std::vector<std::pair<QueryId, double>>& values);

// Human renderings that read better than the generic one.
std::string SampleHuman(const std::vector<SampledQuery>& sampled, bool with_content);
std::string LineageHuman(QueryId id, const LineageView& view);

// The generic human rendering: an object as aligned "key  value" lines (nested objects
// indented, arrays of objects as tables), an array of objects as a table, an array of scalars
// one per line. Ends with a newline unless empty.
std::string RenderHuman(const Json& value);

// Left-aligned columns two spaces apart under upper-case headers; cells are cut to one line.
std::string RenderTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows, size_t indent = 0);

// One line of JSON; invalid UTF-8 in strings is replaced (U+FFFD), never thrown on.
std::string Dump(const Json& value);

}  // namespace heapa::cli

#endif  // HEAPA_TOOLS_CLI_FORMAT_H_
