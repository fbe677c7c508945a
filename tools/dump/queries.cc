#include "tools/dump/queries.h"

#include <algorithm>
#include <string>

#include "index/types.h"
#include "storage/keys.h"
#include "storage/state_log.h"
#include "tools/cli/format.h"
#include "tools/dump/pool_view.h"
#include "tools/dump/query_line.h"

namespace heapa::dump {
namespace {

bool Matches(const QueryFilter& f, const storage::StateRecord& s) {
  if (!f.states.empty() && std::find(f.states.begin(), f.states.end(), s.state) == f.states.end()) {
    return false;
  }
  if (f.min_reward || f.max_reward) {
    if (!s.has_reward) return false;
    if (f.min_reward && s.reward < *f.min_reward) return false;
    if (f.max_reward && s.reward > *f.max_reward) return false;
  }
  return true;
}

bool Matches(const QueryFilter& f, const storage::QueryRecord& q) {
  if (f.origin && q.origin != *f.origin) return false;
  if (f.source && q.source != *f.source) return false;
  return true;
}

Status WriteLine(const QueryInfo& info, bool with_content, std::ostream& out) {
  thread_local std::string line;
  line.clear();
  AppendQueryLine(info, with_content, &line);
  line.push_back('\n');
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
  if (!out) return Status::IOError("cannot write the output");
  return Status::OK();
}

// The --ids path: point reads of the named queries only.
Status DumpIds(const storage::Store& store, const QueryFilter& filter, std::ostream& out,
               uint64_t* written) {
  HEAPA_RETURN_IF_ERROR(CheckFormat(store));
  std::vector<std::optional<storage::StateRecord>> states;
  HEAPA_RETURN_IF_ERROR(storage::ReadStatesOf(store, filter.ids, &states));
  std::vector<std::optional<std::string>> stats;
  HEAPA_RETURN_IF_ERROR(storage::ReadLogOf<storage::StatsLogTraits>(store, filter.ids, &stats));
  for (size_t i = 0; i < filter.ids.size(); ++i) {
    const uint64_t id = filter.ids[i];
    QueryInfo info;
    info.id = id;
    if (!states[i]) return Status::NotFound("query " + std::to_string(id) + " does not exist");
    info.state = *states[i];
    HEAPA_RETURN_IF_ERROR(ReadQuery(store, id, &info.query));
    if (stats[i]) {
      HEAPA_RETURN_IF_ERROR(storage::DecodeStats(*stats[i], &info.stats)
                                .WithContext("statistics of query " + std::to_string(id)));
    }
    if (!Matches(filter, info.state) || !Matches(filter, info.query)) continue;
    HEAPA_RETURN_IF_ERROR(WriteLine(info, filter.with_content, out));
    ++*written;
  }
  return Status::OK();
}

}  // namespace

std::optional<storage::QueryState> ParseStateName(std::string_view name) {
  for (uint8_t s = 0; s <= storage::kMaxQueryState; ++s) {
    const auto state = static_cast<storage::QueryState>(s);
    if (storage::QueryStateName(state) == name) return state;
  }
  return std::nullopt;
}

Status DumpQueries(const storage::Store& store, const QueryFilter& filter, std::ostream& out,
                   Progress* progress, uint64_t* written) {
  uint64_t count = 0;
  if (written == nullptr) written = &count;
  *written = 0;
  if (!filter.ids.empty()) return DumpIds(store, filter, out, written);

  HEAPA_ASSIGN_OR_RETURN(PoolView view,
                         Load(store, LoadParts{.states = true, .stats = true}, progress));
  uint64_t seen = 0;
  Status s = ForEachQuery(store, [&](uint64_t id, storage::QueryRecord&& rec) -> Status {
    if (progress != nullptr) progress->Update(++seen, "queries");
    if (id == 0 || id >= view.states.size() || !view.states[id]) {
      return Status::Corruption(storage::DescribeKey(storage::QueryKey(id)) +
                                " has no state record");
    }
    const storage::StateRecord& state = *view.states[id];
    if (!Matches(filter, state) || !Matches(filter, rec)) return Status::OK();
    QueryInfo info;
    info.id = id;
    info.query = std::move(rec);
    info.state = state;
    if (view.stats[id]) info.stats = *view.stats[id];
    HEAPA_RETURN_IF_ERROR(WriteLine(info, filter.with_content, out));
    ++*written;
    return Status::OK();
  });
  if (progress != nullptr) progress->Done();
  return s;
}

}  // namespace heapa::dump
