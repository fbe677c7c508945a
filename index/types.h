// The public value types of a heapa pool: what goes in and what comes out of index/pool.h.
//
// Thread safety: plain values.
#ifndef HEAPA_INDEX_TYPES_H_
#define HEAPA_INDEX_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/records.h"
#include "storage/request_marker.h"

namespace heapa {

// A query's id: assigned by the pool from 1 upward, never reused.
using QueryId = uint64_t;
// A lease: one per Sample call, shared by the queries it returned; never reused.
using LeaseId = uint64_t;

using storage::EvictionPolicy;
using storage::Hash128;
using storage::Origin;
using storage::PathWeighting;
using storage::QueryRecord;
using storage::QueryState;
using storage::RefreshMode;
using storage::SamplingMode;
using storage::StatsRecord;

// Names one request of one client, for exactly-once retries: a mutation given the key of a
// request the pool already applied returns that request's stored result and changes nothing.
// request 0: not retryable (no result is stored).
struct RequestKey {
  uint64_t client = 0;
  uint64_t request = 0;
  // The id an admin request's markers name (storage/request_marker.h).
  storage::RequestId marker_id() const { return {client, request}; }
};

// A query to insert.
struct NewQuery {
  std::string prompt;  // required, UTF-8 text (may be a JSON chat-message list)
  std::string answer;  // ground truth; part of the dedup key with the prompt
  std::string source;  // dataset tag
  Origin origin = Origin::kSeed;
  std::vector<uint32_t> tokens;  // optional unpadded token ids
  std::vector<std::pair<std::string, std::string>> meta;
  std::optional<double> reward;  // absent: unscored, joins COLD
  int64_t step = 0;              // the trainer's step at creation
};

// An augmented child of one or more existing queries.
struct NewChild {
  std::vector<QueryId> parents;  // 1..64 existing queries, distinct
  std::string prompt;
  std::string answer;
  std::string source;
  std::vector<uint32_t> tokens;
  std::vector<std::pair<std::string, std::string>> meta;
  double policy_difficulty = 1.0;  // finite, > 0; the factor the policy reported
  // Absent: derived from the first parent's current reward as the reference does (§5.2).
  std::optional<double> est_reward;
  // false: PENDING until Validate(); true: admitted into the heaps at once by est_reward.
  bool validated = false;
  int64_t step = 0;
};

struct InsertResult {
  QueryId id = 0;
  bool created = false;  // false: identical (prompt, answer) already existed; id is that query
};

struct SampleRequest {
  uint32_t count = 0;        // 1..PoolOptions::max_batch
  int64_t lease_ms = 0;      // 0: the pool's default lease
  bool with_content = true;  // also read each query's record (prompt, answer, ...)
};

struct SampledQuery {
  QueryId id = 0;
  LeaseId lease = 0;
  int64_t lease_deadline_ms = 0;
  QueryState from = QueryState::kCold;  // the set it was taken from: COLD, LOW or HIGH
  std::optional<double> reward;         // the reward that placed it (absent when COLD)
  QueryRecord query;                    // filled when SampleRequest::with_content
};

// The rewards of the rollouts of one sampled query.
struct ReportItem {
  QueryId id = 0;
  LeaseId lease = 0;
  std::vector<double> rewards;  // one per rollout, finite, 1..PoolOptions::max_rollouts
  int64_t step = 0;             // the trainer's step
};

enum class ReportOutcome : uint8_t {
  kApplied,    // the query was in flight under this lease: statistics updated, now ARCHIVED
  kDuplicate,  // this (id, lease) was already reported: nothing changed
  kLate,       // the lease had expired: statistics updated, the query stays where it is
  kStale,      // the query was leased again since (a newer lease): nothing recorded
};

// Everything the pool knows about one query.
struct QueryInfo {
  QueryId id = 0;
  QueryRecord query;
  storage::StateRecord state;
  StatsRecord stats;  // zeros until the first report
};

// The neighbourhood of one query in the lineage graph.
struct LineageView {
  std::vector<QueryId> parents;
  std::vector<QueryId> children;
  // Breadth-first, nearest first, each once at its smallest depth (1 = direct).
  std::vector<std::pair<QueryId, uint32_t>> ancestors;
  std::vector<std::pair<QueryId, uint32_t>> descendants;
};

// A point-in-time summary. Cheap: O(1).
// A cumulative histogram of the rewards of the scored queries in LOW and HIGH.
struct RewardHistogram {
  std::vector<double> upper_bounds;  // ascending
  std::vector<uint64_t> cumulative;  // [i]: how many have reward <= upper_bounds[i]
  uint64_t count = 0;
  double sum = 0;
};

struct PoolStats {
  uint64_t max_size = 0;
  uint64_t pooled = 0;  // COLD + LOW + HIGH
  uint64_t cold = 0, low = 0, high = 0, in_flight = 0, archived = 0, pending = 0, rejected = 0,
           evicted = 0;
  std::optional<double> low_max;   // the frontier from below
  std::optional<double> high_min;  // the frontier from above
  storage::CountersRecord counters;
  uint64_t index_bytes = 0;     // memory held by the in-memory index
  std::string degraded;         // empty when writable; else why the pool is read-only
  uint64_t expired_leases = 0;  // IN_FLIGHT past their deadline, not yet returned by a Sample
  // Group commit since open: synced writes, the operations they carried, the largest group.
  // Counted on, not reset, when the pool rebuilds (a failed write, a restore).
  uint64_t commit_writes = 0, commit_batches = 0, commit_max_group = 0;
  // WAL syncs since open, as RocksDB's write path counts them (storage::Store::WalSyncs), over
  // every store the pool opened since: at least commit_writes when writes are synced.
  uint64_t wal_syncs = 0;
  // Memory held by every query's statistics (index/stats_table.h), beside index_bytes.
  uint64_t stats_bytes = 0;
};

}  // namespace heapa

#endif  // HEAPA_INDEX_TYPES_H_
