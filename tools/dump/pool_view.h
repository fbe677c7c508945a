// dump::PoolView: what heapa-dump reads of one pool, verified record by record (checksum,
// FlatBuffers Verifier, record rules) before use. A record that fails is Corruption naming its
// key: the dump stops rather than print a guess (heapa-check lists every bad record).
//
// Thread safety: none; the Store may be shared with other readers.
#ifndef HEAPA_TOOLS_DUMP_POOL_VIEW_H_
#define HEAPA_TOOLS_DUMP_POOL_VIEW_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "storage/records.h"
#include "storage/result.h"
#include "storage/store.h"
#include "tools/dump/progress.h"

namespace heapa::dump {

struct Edge {
  uint64_t parent = 0;
  uint64_t child = 0;
  double policy_difficulty = 1.0;
};

// The small records of every query, indexed by id (index 0 unused).
struct PoolView {
  storage::ConfigRecord config;
  storage::CountersRecord counters;
  std::vector<std::optional<storage::StateRecord>> states;
  // Statistics without recent_leases (not shown; it would double the memory).
  std::vector<std::optional<storage::StatsRecord>> stats;
  std::vector<Edge> edges;  // in key order: by (parent, child)
};

// What Load reads besides config and counters.
struct LoadParts {
  bool states = true;
  bool stats = false;
  bool edges = false;
};

// Reads config, counters and the asked parts. Corruption names the first bad key; NotFound
// when a meta record is missing (not a pool). `progress`, when set, counts records read.
Result<PoolView> Load(const storage::Store& store, const LoadParts& parts, Progress* progress);

// OK when `store` holds a pool of this build's format; FailedPrecondition naming the format
// otherwise (the dump reads, never upgrades).
Status CheckFormat(const storage::Store& store);

// Calls fn(id, record) for every 'Q' record in id order; stops at fn's first error.
Status ForEachQuery(const storage::Store& store,
                    const std::function<Status(uint64_t id, storage::QueryRecord&& rec)>& fn);

// Reads one query's record; NotFound when absent.
Status ReadQuery(const storage::Store& store, uint64_t id, storage::QueryRecord* rec);

}  // namespace heapa::dump

#endif  // HEAPA_TOOLS_DUMP_POOL_VIEW_H_
