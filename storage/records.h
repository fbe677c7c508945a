// The records of a pool as plain C++ values, and their on-disk encodings.
//
// Every stored value is an envelope:
//
//   kind (1 byte) | payload (FlatBuffer of records.fbs, or 8-byte LE id for dedup) | xxh3_64 (8
//   bytes LE)
//
// The checksum covers kind and payload. Decode* verify, in order: size, checksum, kind, the
// FlatBuffers Verifier, then the semantic rules of each record (enum ranges, finite numbers,
// size limits); a failure is Corruption with the reason, and the out-param is left unspecified.
//
// When changing a format, bump kFormatVersion (keys.h), keep old fields, and add a round-trip
// test in tests/storage/records_test.cc.
#ifndef HEAPA_STORAGE_RECORDS_H_
#define HEAPA_STORAGE_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/keys.h"
#include "storage/status.h"

namespace heapa::storage {

// Where a query is. The numeric values are stored; never renumber.
enum class QueryState : uint8_t {
  kCold = 0,      // unscored, in the FIFO
  kLow = 1,       // scored, hard side of the frontier
  kHigh = 2,      // scored, easy side of the frontier
  kInFlight = 3,  // sampled, under a lease
  kArchived = 4,  // reported, waiting for reinsertion
  kPending = 5,   // augmented child waiting for validation
  kRejected = 6,  // failed validation (terminal)
  kEvicted = 7,   // evicted by capacity (terminal)
};
inline constexpr uint8_t kMaxQueryState = 7;
std::string_view QueryStateName(QueryState state);

enum class Origin : uint8_t { kSeed = 0, kAugmented = 1 };
enum class SamplingMode : uint8_t { kMedium = 0, kMixed = 1 };
enum class EvictionPolicy : uint8_t { kReference = 0, kExtremes = 1 };
enum class RefreshMode : uint8_t { kOff = 0, kChild = 1, kPath = 2 };
enum class PathWeighting : uint8_t { kSoftmax = 0, kLinear = 1 };

struct QueryRecord {
  std::string prompt;
  std::string answer;
  std::string source;
  Origin origin = Origin::kSeed;
  std::vector<uint32_t> tokens;
  std::vector<std::pair<std::string, std::string>> meta;
  int64_t created_step = 0;
  int64_t created_ms = 0;
  double policy_difficulty = 1.0;
  std::vector<uint64_t> parents;
  friend bool operator==(const QueryRecord&, const QueryRecord&) = default;
};

struct StateRecord {
  QueryState state = QueryState::kCold;
  QueryState prev_state = QueryState::kCold;
  bool has_reward = false;
  double reward = 0;
  uint64_t seq = 0;
  uint32_t times_sampled = 0;
  uint64_t lease = 0;
  int64_t lease_deadline_ms = 0;
  friend bool operator==(const StateRecord&, const StateRecord&) = default;
};

// The records (states or statistics) of the consecutive ids first_id, first_id + 1, ... as
// of the batch with durable sequence number as_of. A chunk holds at most kStateChunkIds
// states, or kStatsChunkIds statistics (state_log.h).
template <typename R>
struct ChunkRecord {
  uint64_t first_id = 0;
  uint64_t as_of = 0;
  std::vector<R> slots;
  friend bool operator==(const ChunkRecord&, const ChunkRecord&) = default;
};

// The records that the batch with durable sequence number seq created or changed, by id
// (strictly increasing).
template <typename R>
struct JournalRecord {
  uint64_t seq = 0;
  std::vector<std::pair<uint64_t, R>> entries;
  friend bool operator==(const JournalRecord&, const JournalRecord&) = default;
};

using StateChunkRecord = ChunkRecord<StateRecord>;
using StateJournalRecord = JournalRecord<StateRecord>;
// Statistics are held as their encoding (EncodeStats' bytes, the packed form): a chunk slot is
// empty for an id without statistics; a journal entry never is.
using StatsChunkRecord = ChunkRecord<std::string>;
using StatsJournalRecord = JournalRecord<std::string>;

struct StatsRecord {
  uint64_t reports = 0;
  uint64_t rollouts = 0;
  double mean = 0;
  double m2 = 0;
  double min = 0;
  double max = 0;
  uint32_t zero_variance_streak = 0;
  int64_t last_step = 0;
  uint64_t last_report_lease = 0;
  double last_group_mean = 0;
  bool has_est_reward = false;
  double est_reward = 0;
  std::vector<uint64_t> recent_leases;  // oldest first, at most kRecentLeases
  friend bool operator==(const StatsRecord&, const StatsRecord&) = default;
};

struct ConfigRecord {
  uint64_t max_size = 0;
  double low_fraction = 0.5;
  SamplingMode sampling = SamplingMode::kMedium;
  EvictionPolicy eviction = EvictionPolicy::kReference;
  uint32_t reinsert_below = 0;
  uint64_t rng_seed = 0;
  int64_t default_lease_ms = 0;
  RefreshMode refresh = RefreshMode::kOff;
  PathWeighting path_weighting = PathWeighting::kSoftmax;
  double path_temperature = 1.0;
  bool inverse_adjust = false;
  friend bool operator==(const ConfigRecord&, const ConfigRecord&) = default;
};

struct CountersRecord {
  uint64_t next_id = 1;
  uint64_t next_seq = 1;
  uint64_t next_lease = 1;
  uint64_t durable_seq = 0;
  uint64_t total_added = 0;
  uint64_t total_duplicates = 0;
  uint64_t total_sampled = 0;
  uint64_t total_evicted = 0;
  uint64_t total_reports = 0;
  uint64_t total_reinserted = 0;
  uint64_t total_expired = 0;
  uint64_t rng_state = 0;
  uint64_t rng_inc = 0;
  // Leases in [abandoned_leases_from, abandoned_leases_to) were granted in a future that a
  // Restore abandoned: a report naming one is stale, not a lease never granted. Both 0 when
  // there was no Restore; from <= to <= next_lease.
  uint64_t abandoned_leases_from = 0;
  uint64_t abandoned_leases_to = 0;
  friend bool operator==(const CountersRecord&, const CountersRecord&) = default;
};

// Which operation an OpResultRecord answers.
enum class OpKind : uint8_t {
  kInsert = 1,
  kInsertChildren = 2,
  kValidate = 3,
  kSample = 4,
  kReport = 5,
  kReinsert = 6,
  kRecover = 7,
};

struct OpResultRecord {
  OpKind kind = OpKind::kInsert;
  std::vector<uint64_t> ids;
  std::vector<uint8_t> codes;
  uint64_t lease = 0;
  int64_t lease_deadline_ms = 0;
  std::vector<uint8_t> has_rewards;
  std::vector<double> rewards;
  uint64_t count = 0;
  friend bool operator==(const OpResultRecord&, const OpResultRecord&) = default;
};

// Limits enforced when decoding (a record beyond them is Corruption) and by the pool when
// validating input (InvalidArgument). Sized so that one record stays well under RocksDB's
// comfortable value size.
inline constexpr size_t kMaxPromptBytes = 1 << 20;
inline constexpr size_t kMaxAnswerBytes = 64 << 10;
inline constexpr size_t kMaxSourceBytes = 256;
inline constexpr size_t kMaxTokens = 1 << 18;
inline constexpr size_t kMaxMetaEntries = 64;
inline constexpr size_t kMaxMetaBytes = 16 << 10;  // sum of keys and values
inline constexpr size_t kMaxParents = 64;
// Ids per state chunk; chunk c holds ids c * kStateChunkIds + 1 and up. Stored: changing it
// is a format change.
inline constexpr uint64_t kStateChunkIds = 4096;
// Ids per statistics chunk, likewise. A chunk of queries reported many times is about 100 KB.
inline constexpr uint64_t kStatsChunkIds = 1024;
// How many reported leases a query remembers, so that repeating any of them is a no-op.
inline constexpr size_t kRecentLeases = 16;

void EncodeQuery(const QueryRecord& rec, std::string* out);
void EncodeState(const StateRecord& rec, std::string* out);
void EncodeStateChunk(const StateChunkRecord& rec, std::string* out);
void EncodeStateJournal(const StateJournalRecord& rec, std::string* out);
// Packed (format 4, stats_record.cc). DecodeStats reads this and the FlatBuffer table that
// formats 2 and 3 wrote, which EncodeStatsFormat3 writes: the canonical form Pool::Digest
// hashes (digests stay those of older builds), and the input of tests of older pools.
void EncodeStats(const StatsRecord& rec, std::string* out);
void EncodeStatsFormat3(const StatsRecord& rec, std::string* out);
// Format 5 (stats_record.cc). Every slot and entry is verified with DecodeStats.
void EncodeStatsChunk(const StatsChunkRecord& rec, std::string* out);
void EncodeStatsJournal(const StatsJournalRecord& rec, std::string* out);
void EncodeConfig(const ConfigRecord& rec, std::string* out);
void EncodeCounters(const CountersRecord& rec, std::string* out);
void EncodeFormat(uint32_t version, std::string* out);
void EncodeOpResult(const OpResultRecord& rec, std::string* out);
void EncodeDedup(uint64_t id, std::string* out);
// A lineage edge's value: the child's policy difficulty (finite, > 0).
void EncodeEdge(double policy_difficulty, std::string* out);

Status DecodeQuery(std::string_view value, QueryRecord* rec);
Status DecodeState(std::string_view value, StateRecord* rec);
Status DecodeStateChunk(std::string_view value, StateChunkRecord* rec);
Status DecodeStateJournal(std::string_view value, StateJournalRecord* rec);
Status DecodeStats(std::string_view value, StatsRecord* rec);
Status DecodeStatsChunk(std::string_view value, StatsChunkRecord* rec);
Status DecodeStatsJournal(std::string_view value, StatsJournalRecord* rec);
// DecodeStats, and `*packed` = what EncodeStats writes for the record: `value` itself when it
// is packed already, else its re-encoding in `scratch` (a record of format 2 or 3).
Status DecodeStatsToPacked(std::string_view value, StatsRecord* rec, std::string* scratch,
                           std::string_view* packed);
Status DecodeConfig(std::string_view value, ConfigRecord* rec);
Status DecodeCounters(std::string_view value, CountersRecord* rec);
Status DecodeFormat(std::string_view value, uint32_t* version);
Status DecodeOpResult(std::string_view value, OpResultRecord* rec);
Status DecodeDedup(std::string_view value, uint64_t* id);
Status DecodeEdge(std::string_view value, double* policy_difficulty);

// The rules every stored state obeys (enums in range, a finite reward, LOW and HIGH scored,
// IN_FLIGHT leased); Corruption naming the broken one.
Status ValidateState(const StateRecord& rec);

// XXH3-128 of (prompt, answer), unambiguous: the prompt's length is hashed in front.
Hash128 ContentHash(std::string_view prompt, std::string_view answer);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_RECORDS_H_
