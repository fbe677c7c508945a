// Pool::Open and the rebuild of the index from storage (the strict scan).
#include <chrono>

#include "index/pool.h"
#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/store.h"

namespace heapa {
namespace {

storage::ConfigRecord ToRecord(const PoolConfig& c) {
  storage::ConfigRecord r;
  r.max_size = c.max_size;
  r.low_fraction = c.low_fraction;
  r.sampling = c.sampling;
  r.eviction = c.eviction;
  r.reinsert_below = c.reinsert_below;
  r.rng_seed = c.rng_seed;
  r.default_lease_ms = c.default_lease_ms;
  return r;
}

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
  return decode(value, rec).WithContext(storage::DescribeKey(key));
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

}  // namespace

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
  return Status::OK();
}

Pool::Pool(const PoolOptions& options, std::unique_ptr<storage::Store> store,
           const storage::ConfigRecord& config)
    : options_(options), config_(config), store_(std::move(store)) {}

Pool::~Pool() { (void)Close(); }  // a close error has nobody left to report to

Result<std::unique_ptr<Pool>> Pool::Open(const std::string& dir, const PoolOptions& options) {
  if (options.create_if_missing) HEAPA_RETURN_IF_ERROR(ValidateConfig(options.config));
  storage::StoreOptions so;
  so.create_if_missing = options.create_if_missing;
  so.error_if_exists = options.error_if_exists;
  so.sync = options.sync;
  so.write_buffer_bytes = options.write_buffer_bytes;
  so.block_cache_bytes = options.block_cache_bytes;
  HEAPA_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> store, storage::Store::Open(dir, so));

  std::string value;
  Status s = store->Get(storage::MetaKey("format"), &value);
  if (s.code() == Status::Code::kNotFound) {
    HEAPA_ASSIGN_OR_RETURN(const bool empty, store->IsEmpty());
    if (!empty || !options.create_if_missing) {
      return Status::Corruption("database in " + dir + " holds no pool format record");
    }
    HEAPA_RETURN_IF_ERROR(Initialize(store.get(), ToRecord(options.config)));
  } else {
    HEAPA_RETURN_IF_ERROR(s);
    uint32_t version = 0;
    HEAPA_RETURN_IF_ERROR(storage::DecodeFormat(value, &version).WithContext("M/format"));
    if (version != storage::kFormatVersion) {
      return Status::FailedPrecondition("pool in " + dir + " has format version " +
                                        std::to_string(version) + "; this build reads " +
                                        std::to_string(storage::kFormatVersion));
    }
  }
  storage::ConfigRecord config;
  HEAPA_RETURN_IF_ERROR(ReadMeta(*store, "config", &storage::DecodeConfig, &config));
  std::unique_ptr<Pool> pool(new Pool(options, std::move(store), config));
  HEAPA_RETURN_IF_ERROR(pool->Rebuild());
  return pool;
}

Status Pool::Rebuild() {
  std::lock_guard<std::mutex> lock(mu_);
  storage::CountersRecord counters;
  HEAPA_RETURN_IF_ERROR(ReadMeta(*store_, "counters", &storage::DecodeCounters, &counters));
  uint64_t loaded = 0;
  const std::string prefix = storage::FamilyPrefix(storage::KeyFamily::kState);
  Status scan = store_->Scan(prefix, [&](std::string_view key, std::string_view value) {
    const std::optional<uint64_t> id = storage::DecodeIdKey(storage::KeyFamily::kState, key);
    if (!id || *id == 0 || *id >= counters.next_id) {
      return Status::Corruption("unexpected state key " + storage::DescribeKey(key) +
                                " (next id " + std::to_string(counters.next_id) + ")");
    }
    storage::StateRecord rec;
    HEAPA_RETURN_IF_ERROR(storage::DecodeState(value, &rec).WithContext(storage::DescribeKey(key)));
    if (rec.seq >= counters.next_seq || rec.lease >= counters.next_lease) {
      return Status::Corruption(storage::DescribeKey(key) + " names a seq or lease not yet issued");
    }
    ix_.Load(*id, rec);
    ++loaded;
    return Status::OK();
  });
  HEAPA_RETURN_IF_ERROR(scan);
  // Ids are dense: every id below next_id was written with its state in one batch.
  if (loaded != counters.next_id - 1) {
    return Status::Corruption("pool in " + store_->dir() + " has " + std::to_string(loaded) +
                              " state records; its counters say " +
                              std::to_string(counters.next_id - 1));
  }
  ix_.FinishLoad();
  ix_.counters() = counters;
  ix_.rng() = index::Rng::FromState(counters.rng_state, counters.rng_inc);
  return Status::OK();
}

int64_t Pool::NowMs() const {
  if (options_.clock_ms) return options_.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace heapa
