// Pool::Open and the rebuild of the index from storage (the strict scan).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <new>

#include "index/pool.h"
#include "storage/batch.h"
#include "storage/committer.h"
#include "storage/failpoint.h"
#include "storage/format_upgrade.h"
#include "storage/keys.h"
#include "storage/pool_dir.h"
#include "storage/records.h"
#include "storage/spare_thread.h"
#include "storage/store.h"

namespace heapa {
namespace {

// Reads and decodes one meta record; a missing one is Corruption (the pool exists).
template <typename Rec>
Status ReadMeta(const storage::Store& store, std::string_view name,
                Status (*decode)(std::string_view, Rec*), Rec* rec) {
  std::string value;
  const std::string key = storage::MetaKey(name);
  Status s = store.Get(key, &value);
  if (s.code() == Status::Code::kNotFound) {
    return Status::Corruption("pool in " + store.dir() + " has no " + storage::DescribeKey(key));
  }
  if (!s.ok()) return s;
  return storage::AtKey(decode(value, rec), key);
}

// Writes format, config and counters of a new pool in one synced batch.
Status Initialize(storage::Store* store, const storage::ConfigRecord& config) {
  storage::Batch batch;
  std::string value;
  storage::EncodeFormat(storage::kFormatVersion, &value);
  batch.Put(storage::MetaKey("format"), value);
  storage::EncodeConfig(config, &value);
  batch.Put(storage::MetaKey("config"), value);
  storage::CountersRecord counters;
  const index::Rng rng = index::Rng::FromSeed(config.rng_seed);
  counters.rng_state = rng.state();
  counters.rng_inc = rng.inc();
  storage::EncodeCounters(counters, &value);
  batch.Put(storage::MetaKey("counters"), value);
  return store->Write(&batch);
}

// Every query's statistics in a store, verified.
struct LoadedStats {
  index::StatsList records;
  storage::StateLogPosition position;  // where the statistics log continues from
};

// Reads the statistics log of `store` into `out` (ReadLog: any record that does not decode,
// or names an id at or above next_id, is Corruption).
Status ReadAllStats(const storage::Store& store, const storage::CountersRecord& counters,
                    LoadedStats* out) {
  return storage::ReadLog<storage::StatsLogTraits>(
      store, counters.next_id, counters.durable_seq,
      [&](uint64_t id, const std::string& encoded) {
        out->records.Add(id, encoded);
        return Status::OK();
      },
      nullptr, &out->position);
}

}  // namespace

storage::ConfigRecord ToConfigRecord(const PoolConfig& c) {
  storage::ConfigRecord r;
  r.max_size = c.max_size;
  r.low_fraction = c.low_fraction;
  r.sampling = c.sampling;
  r.eviction = c.eviction;
  r.reinsert_below = c.reinsert_below;
  r.rng_seed = c.rng_seed;
  r.default_lease_ms = c.default_lease_ms;
  r.refresh = c.refresh;
  r.path_weighting = c.path_weighting;
  r.path_temperature = c.path_temperature;
  r.inverse_adjust = c.inverse_adjust;
  return r;
}

PoolConfig FromConfigRecord(const storage::ConfigRecord& r) {
  PoolConfig c;
  c.max_size = r.max_size;
  c.low_fraction = r.low_fraction;
  c.sampling = r.sampling;
  c.eviction = r.eviction;
  c.reinsert_below = r.reinsert_below;
  c.rng_seed = r.rng_seed;
  c.default_lease_ms = r.default_lease_ms;
  c.refresh = r.refresh;
  c.path_weighting = r.path_weighting;
  c.path_temperature = r.path_temperature;
  c.inverse_adjust = r.inverse_adjust;
  return c;
}

Status ValidateConfig(const PoolConfig& c) {
  if (c.max_size == 0) return Status::InvalidArgument("config.max_size must be at least 1");
  if (!(c.low_fraction >= 0.05 && c.low_fraction <= 0.95)) {
    return Status::InvalidArgument("config.low_fraction " + std::to_string(c.low_fraction) +
                                   " is outside [0.05, 0.95]");
  }
  if (c.sampling != SamplingMode::kMedium && c.sampling != SamplingMode::kMixed) {
    return Status::InvalidArgument("config.sampling is not a known mode");
  }
  if (c.eviction != EvictionPolicy::kReference && c.eviction != EvictionPolicy::kExtremes) {
    return Status::InvalidArgument("config.eviction is not a known policy");
  }
  if (c.default_lease_ms <= 0) {
    return Status::InvalidArgument("config.default_lease_ms must be positive");
  }
  if (c.refresh != RefreshMode::kOff && c.refresh != RefreshMode::kChild &&
      c.refresh != RefreshMode::kPath) {
    return Status::InvalidArgument("config.refresh is not a known mode");
  }
  if (c.path_weighting != PathWeighting::kSoftmax && c.path_weighting != PathWeighting::kLinear) {
    return Status::InvalidArgument("config.path_weighting is not a known weighting");
  }
  if (!(c.path_temperature > 0) || !std::isfinite(c.path_temperature)) {
    return Status::InvalidArgument("config.path_temperature must be a finite positive number");
  }
  return Status::OK();
}

Pool::Pool(const std::string& dir, const PoolOptions& options,
           std::unique_ptr<storage::Store> store, const storage::ConfigRecord& config)
    : dir_(dir), options_(options), config_(config), store_(std::move(store)) {}

Pool::~Pool() { (void)Close(); }  // a close error has nobody left to report to

storage::StoreOptions Pool::StoreOptionsFor(const PoolOptions& options) {
  storage::StoreOptions so;
  so.sync = options.sync;
  so.write_buffer_bytes = options.write_buffer_bytes;
  return so;
}

Result<std::unique_ptr<storage::Store>> Pool::OpenStore(const std::string& dir,
                                                        const PoolOptions& options, bool* created) {
  storage::StoreOptions so = StoreOptionsFor(options);
  Result<std::string> live = storage::PoolDir::LiveDb(dir);
  *created = false;
  std::string db;
  if (live.ok()) {
    if (options.error_if_exists) return Status::AlreadyExists("a pool already exists in " + dir);
    HEAPA_RETURN_IF_ERROR(storage::PoolDir::RemoveStale(dir));
    db = *live;
  } else if (live.status().code() == Status::Code::kNotFound && options.create_if_missing) {
    HEAPA_ASSIGN_OR_RETURN(db, storage::PoolDir::Create(dir));
    so.create_if_missing = true;
    so.error_if_exists = true;
    *created = true;
  } else {
    return live.status();
  }
  return storage::Store::Open(db, so);
}

Result<std::unique_ptr<Pool>> Pool::Open(const std::string& dir, const PoolOptions& options) {
  if (options.create_if_missing) HEAPA_RETURN_IF_ERROR(ValidateConfig(options.config));
  bool created = false;
  HEAPA_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> store, OpenStore(dir, options, &created));
  if (created) {
    // LIVE names the new database only once it is a complete pool: a crash before this
    // leaves no pool (the creation was never acknowledged), never a half-made one.
    HEAPA_RETURN_IF_ERROR(Initialize(store.get(), ToConfigRecord(options.config)));
    HEAPA_RETURN_IF_ERROR(storage::PoolDir::SwitchLive(dir, store->dir()));
  } else {
    HEAPA_RETURN_IF_ERROR(storage::EnsureCurrentFormat(store.get(), "pool in " + dir));
  }
  storage::ConfigRecord config;
  HEAPA_RETURN_IF_ERROR(ReadMeta(*store, "config", &storage::DecodeConfig, &config));
  std::unique_ptr<Pool> pool(new Pool(dir, options, std::move(store), config));
  {
    std::lock_guard<std::mutex> lock(pool->mu_);
    HEAPA_RETURN_IF_ERROR(pool->Rebuild());
  }
  return pool;
}

Status Pool::ReopenStore() {
  RetireCounters(/*store=*/true);
  committer_.reset();
  if (store_) (void)store_->Close();  // a flush may fail on a full disk: the WAL has it all
  store_.reset();
  PoolOptions o = options_;
  o.create_if_missing = false;
  o.error_if_exists = false;
  bool created = false;
  Result<std::unique_ptr<storage::Store>> writable = OpenStore(dir_, o, &created);
  Status result;
  if (writable.ok()) {
    store_ = std::move(writable).value();
  } else {
    result = writable.status();
    storage::StoreOptions so = StoreOptionsFor(o);
    so.read_only = true;
    HEAPA_ASSIGN_OR_RETURN(const std::string db, storage::PoolDir::LiveDb(dir_));
    HEAPA_ASSIGN_OR_RETURN(store_, storage::Store::Open(db, so));
  }
  store_->TEST_FailWrites(test_fail_writes_, test_fail_after_writing_);
  HEAPA_RETURN_IF_ERROR(Rebuild());
  return result;
}

void Pool::RetireCounters(bool store) {
  if (committer_) {
    const storage::Committer::Counters c = committer_->counters();
    retired_writes_ += c.writes;
    retired_batches_ += c.batches;
    retired_max_group_ = std::max(retired_max_group_, c.max_group);
    retired_durable_seq_ = std::max(retired_durable_seq_, committer_->durable_seq());
  }
  if (store && store_) retired_wal_syncs_ += store_->WalSyncs();
}

Status Pool::Rebuild() {
  RetireCounters(/*store=*/false);
  committer_.reset();
  last_request_.clear();  // the store may hold other results now (a restore, lost batches)
  LoadedIndex loaded_index;
  HEAPA_RETURN_IF_ERROR(LoadIndex(&loaded_index));
  ix_ = std::move(loaded_index.ix);
  lineage_ = std::move(loaded_index.lineage);
  child_difficulty_ = std::move(loaded_index.child_difficulty);
  state_log_ = storage::StateLog(std::move(loaded_index.states));
  stats_ = std::move(loaded_index.stats);
  stats_log_ = storage::StatsLog(std::move(loaded_index.stats_position));
  staged_stats_.Clear();
  committer_ = std::make_shared<storage::Committer>(store_, ix_->counters().durable_seq);
  return Status::OK();
}

Status Pool::LoadIndex(LoadedIndex* out) const {
  out->ix = std::make_unique<index::FrontierIndex>();
  index::FrontierIndex* ix = out->ix.get();
  storage::CountersRecord counters;
  HEAPA_RETURN_IF_ERROR(ReadMeta(*store_, "counters", &storage::DecodeCounters, &counters));
  // The statistics are read on a second thread meanwhile (on an aged 1M pool, 0.7 s of a
  // reopen that took 1.4-1.6 s with them read after the rest), into two buffers: the table's
  // records are allocated here, after the join, so that they come from this thread's malloc
  // arena, where the previous table's were freed (allocated there by the reader, a rebuild's
  // RSS grew by the whole table). `loader` is declared after what its task uses, so an early
  // return waits for the task before those go.
  Status stats_read;
  LoadedStats stats;
  storage::SpareThread loader;
  const auto load_stats = [&] {
    try {
      stats_read = ReadAllStats(*store_, counters, &stats);
    } catch (const std::bad_alloc&) {
      stats_read = Status::ResourceExhausted("out of memory reading the statistics");
    }
  };
  const bool parallel = loader.TryRun(load_stats);
  uint64_t loaded = 0;
  HEAPA_RETURN_IF_ERROR(storage::ReadStates(
      *store_, counters.next_id, counters.durable_seq,
      [&](uint64_t id, const storage::StateRecord& rec) {
        if (rec.seq >= counters.next_seq || rec.lease >= counters.next_lease) {
          return Status::Corruption("the state of query " + std::to_string(id) +
                                    " names a seq or lease not yet issued");
        }
        storage::Failpoint("rebuild.scan");
        ix->Load(id, rec);
        ++loaded;
        return Status::OK();
      },
      nullptr, &out->states));
  // Ids are dense: every id below next_id was written with its state in one batch.
  if (loaded != counters.next_id - 1) {
    return Status::Corruption("pool in " + store_->dir() + " has states of " +
                              std::to_string(loaded) + " queries; its counters say " +
                              std::to_string(counters.next_id - 1));
  }
  HEAPA_RETURN_IF_ERROR(ix->FinishLoad().WithContext("pool in " + store_->dir()));
  Status edges = store_->Scan(
      storage::FamilyPrefix(storage::KeyFamily::kEdge),
      [&](std::string_view key, std::string_view value) {
        uint64_t parent = 0, child = 0;
        double difficulty = 0;
        if (!storage::DecodeEdgeKey(key, &parent, &child) || ix->Find(parent) == nullptr ||
            ix->Find(child) == nullptr || parent >= child) {
          return Status::Corruption("lineage edge " + storage::DescribeKey(key) +
                                    " names an unknown or younger parent");
        }
        HEAPA_RETURN_IF_ERROR(storage::AtKey(storage::DecodeEdge(value, &difficulty), key));
        out->lineage.AddEdge(parent, child);
        out->child_difficulty[child] = difficulty;
        return Status::OK();
      });
  HEAPA_RETURN_IF_ERROR(edges);
  if (parallel) {
    loader.Wait();
  } else {
    load_stats();
  }
  HEAPA_RETURN_IF_ERROR(stats_read);
  out->stats_position = std::move(stats.position);
  for (size_t i = 0; i < stats.records.size(); ++i) {
    out->stats.Set(stats.records.id(i), stats.records.record(i));
  }
  ix->counters() = counters;
  ix->rng() = index::Rng::FromState(counters.rng_state, counters.rng_inc);
  return Status::OK();
}

int64_t Pool::NowMs() const {
  if (options_.clock_ms) return options_.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace heapa
