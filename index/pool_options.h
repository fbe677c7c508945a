// PoolConfig (stored with the pool) and PoolOptions (how this process opens it).
#ifndef HEAPA_INDEX_POOL_OPTIONS_H_
#define HEAPA_INDEX_POOL_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "index/types.h"

namespace heapa {

// The semantics of a pool. Written once when the pool is created; a reopen uses the stored
// config whatever PoolOptions::config says.
struct PoolConfig {
  // Capacity of COLD + LOW + HIGH; in-flight, archived and pending queries do not count.
  uint64_t max_size = 1'000'000;
  // The frontier: LOW holds about this fraction of the scored queries. In [0.05, 0.95].
  double low_fraction = 0.5;
  // kMedium: boundary sampling only. kMixed: half of the non-cold picks are the easiest.
  SamplingMode sampling = SamplingMode::kMedium;
  // kReference replicates the verl eviction paths; kExtremes evicts the hardest LOW or the
  // easiest HIGH, whichever side is over its share.
  EvictionPolicy eviction = EvictionPolicy::kReference;
  // Sample reinserts the archive first when fewer than this many queries are pooled;
  // 0 means "fewer than the batch asked for" (the reference trigger, B6).
  uint32_t reinsert_below = 0;
  // Seed of the pool's RNG (sampling choices, reinsertion shuffle).
  uint64_t rng_seed = 0;
  // Lease length when a Sample does not name one.
  int64_t default_lease_ms = 10 * 60 * 1000;
  // Topology-aware re-estimation applied to the archive at reinsertion (§4.5).
  RefreshMode refresh = RefreshMode::kOff;
  PathWeighting path_weighting = PathWeighting::kSoftmax;
  double path_temperature = 1.0;  // > 0
  // B15: inverse difficulty adjustment on the child -> parent direction.
  bool inverse_adjust = false;
};

struct PoolOptions {
  // Create the pool when the directory holds none (with `config`). Off by default: opening a
  // wrong or unmounted path is NotFound, never a silently empty pool.
  bool create_if_missing = false;
  // With create_if_missing: AlreadyExists when a pool is already there.
  bool error_if_exists = false;
  PoolConfig config;

  // fdatasync every write before acknowledging it. Off only for benchmarks: a power loss
  // could then lose acknowledged operations.
  bool sync = true;
  // Milliseconds since the epoch, for lease deadlines and creation times. Default: the system
  // clock. Tests inject a fake clock.
  std::function<int64_t()> clock_ms;

  // Limits on one request; each violation is InvalidArgument naming the limit.
  size_t max_batch = 1 << 16;     // queries per Insert, Sample or Report
  size_t max_rollouts = 1 << 12;  // rewards per reported query
  int64_t max_lease_ms = 7LL * 24 * 3600 * 1000;

  // After a failed write (a full disk, an I/O error) the pool is read-only; a mutation
  // arriving at least this long after the last attempt tries to resume the store (RocksDB
  // Resume: the memtables are flushed, the WAL restarted) and, when that works, rebuilds the
  // index from the store and goes on. 0: try at every mutation.
  int64_t resume_interval_ms = 1000;

  // Storage engine sizing.
  size_t write_buffer_bytes = 64u << 20;
};

// InvalidArgument naming the first bad field, or OK.
Status ValidateConfig(const PoolConfig& config);

// The stored form of a config, and back.
storage::ConfigRecord ToConfigRecord(const PoolConfig& config);
PoolConfig FromConfigRecord(const storage::ConfigRecord& record);

}  // namespace heapa

#endif  // HEAPA_INDEX_POOL_OPTIONS_H_
