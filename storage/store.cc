#include "storage/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>

#include <algorithm>
#include <filesystem>

#include "storage/keys.h"
#include "storage/rocksdb_status.h"

namespace heapa::storage {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// reliability-plan §5; each deviation from a RocksDB default has its reason there.
rocksdb::Options MakeOptions(const StoreOptions& o) {
  rocksdb::Options opt;
  opt.create_if_missing = o.create_if_missing;
  opt.error_if_exists = o.error_if_exists;
  opt.fail_if_options_file_error = true;
  // WAL and durability.
  opt.manual_wal_flush = false;
  opt.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  opt.recycle_log_file_num = 0;
  opt.track_and_verify_wals_in_manifest = false;  // false "Missing WAL" alarms in 7.8
  opt.avoid_flush_during_recovery = false;
  opt.avoid_flush_during_shutdown = false;
  opt.atomic_flush = false;
  opt.max_total_wal_size = 256ull << 20;
  opt.use_fsync = false;
  // Integrity checks.
  opt.paranoid_checks = true;
  opt.paranoid_file_checks = true;
  opt.force_consistency_checks = true;
  opt.verify_sst_unique_id_in_manifest = true;
  opt.skip_checking_sst_file_sizes_on_db_open = false;
  opt.max_open_files = -1;
  opt.memtable_protection_bytes_per_key = 8;
  // Error handling: no automatic Resume() after a background error (7.8 ENOSPC bug); the
  // pool goes read-only and is reopened instead.
  opt.max_bgerror_resume_count = 0;
  // Long-lived daemon hygiene.
  opt.max_log_file_size = 64ull << 20;
  opt.keep_log_file_num = 10;
  opt.max_background_jobs = 2;
  opt.write_buffer_size = o.write_buffer_bytes;
  // A Bloom filter in the memtable too: the dedup lookup of a new prompt and the first stats
  // read of a query are misses, and without it each walks the memtable skiplist.
  opt.memtable_whole_key_filtering = true;
  opt.memtable_prefix_bloom_size_ratio = 0.1;
  // Bloom filters make the dedup lookup of a new prompt (a miss) cheap.
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(o.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  opt.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return opt;
}

}  // namespace

Store::Store(std::string dir, const StoreOptions& options, rocksdb::DB* db)
    : dir_(std::move(dir)), options_(options), db_(db) {}

Store::~Store() { (void)Close(); }  // errors on close were reported to callers of Close()

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const StoreOptions& options) {
  if (!options.create_if_missing) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
      return Status::NotFound("no pool database in " + dir);
    }
  }
  if (options.error_if_exists) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
      return Status::AlreadyExists("a pool database already exists in " + dir);
    }
  }
  if (options.create_if_missing) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  }
  rocksdb::Options opt = MakeOptions(options);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = options.read_only ? rocksdb::DB::OpenForReadOnly(opt, dir, &db)
                                        : rocksdb::DB::Open(opt, dir, &db);
  if (!s.ok()) return FromRocksDb(s).WithContext("open " + dir);
  return std::unique_ptr<Store>(new Store(dir, options, db));
}

Status Store::Write(Batch* batch) {
  if (!db_) return Status::Unavailable("store " + dir_ + " is closed");
  if (options_.read_only) return Status::FailedPrecondition("store " + dir_ + " is read-only");
  if (Status injected = InjectedFailure(); !injected.ok()) return injected;
  rocksdb::WriteOptions w;
  w.sync = options_.sync;
  w.disableWAL = false;
  w.no_slowdown = false;
  return FromRocksDb(db_->Write(w, batch->rep()));
}

void Store::TEST_FailWrites(const Status& error) {
  std::lock_guard<std::mutex> lock(fail_mu_);
  fail_writes_ = error;
}

Status Store::InjectedFailure() const {
  std::lock_guard<std::mutex> lock(fail_mu_);
  return fail_writes_;
}

Status Store::Resume() {
  if (!db_) return Status::Unavailable("store " + dir_ + " is closed");
  if (Status injected = InjectedFailure(); !injected.ok()) return injected;
  return FromRocksDb(db_->Resume()).WithContext("resume " + dir_);
}

Status Store::Get(std::string_view key, std::string* value) const {
  if (!db_) return Status::Unavailable("store " + dir_ + " is closed");
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  rocksdb::Status s = db_->Get(r, ToSlice(key), value);
  if (s.IsNotFound()) return Status::NotFound(DescribeKey(key) + " not found");
  return FromRocksDb(s).WithContext("read " + DescribeKey(key));
}

std::vector<Status> Store::MultiGet(const std::vector<std::string>& keys,
                                    std::vector<std::string>* values) const {
  std::vector<Status> out(keys.size());
  values->assign(keys.size(), std::string());
  if (!db_) {
    for (Status& s : out) s = Status::Unavailable("store " + dir_ + " is closed");
    return out;
  }
  // Sorted input lets RocksDB walk each level once.
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (size_t i : order) slices.push_back(ToSlice(keys[i]));
  std::vector<rocksdb::PinnableSlice> pinned(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  db_->MultiGet(r, db_->DefaultColumnFamily(), keys.size(), slices.data(), pinned.data(),
                statuses.data(), /*sorted_input=*/true);
  for (size_t j = 0; j < order.size(); ++j) {
    const size_t i = order[j];
    if (statuses[j].IsNotFound()) {
      out[i] = Status::NotFound(DescribeKey(keys[i]) + " not found");
    } else if (!statuses[j].ok()) {
      out[i] = FromRocksDb(statuses[j]).WithContext("read " + DescribeKey(keys[i]));
    } else {
      (*values)[i].assign(pinned[j].data(), pinned[j].size());
    }
  }
  return out;
}

Status Store::Scan(std::string_view prefix, const ScanFn& fn) const {
  if (!db_) return Status::Unavailable("store " + dir_ + " is closed");
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  r.fill_cache = false;
  r.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(r));
  std::string last_key;  // raw; described only if an error needs it
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    const std::string_view key(k.data(), k.size());
    if (key.substr(0, prefix.size()) != prefix) break;
    const rocksdb::Slice v = it->value();
    Status s = fn(key, std::string_view(v.data(), v.size()));
    if (!s.ok()) return s;
    last_key.assign(key);
  }
  // An iterator stops early on a checksum error: without this check a corrupt block would
  // look like the end of the data (reliability-plan R8).
  if (!it->status().ok()) {
    return FromRocksDb(it->status())
        .WithContext("scan of " + dir_ + " after key " +
                     (last_key.empty() ? std::string("<start>") : DescribeKey(last_key)));
  }
  return Status::OK();
}

Status Store::CreateCheckpoint(const std::string& dir) {
  if (!db_) return Status::Unavailable("store " + dir_ + " is closed");
  rocksdb::Checkpoint* raw = nullptr;
  HEAPA_RETURN_IF_ERROR(FromRocksDb(rocksdb::Checkpoint::Create(db_.get(), &raw)));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush = 0: always flush first, so the checkpoint needs no WAL replay.
  return FromRocksDb(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0))
      .WithContext("checkpoint of " + dir_ + " to " + dir);
}

Result<bool> Store::IsEmpty() const {
  if (!db_) return Status::Unavailable("store " + dir_ + " is closed");
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  r.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(r));
  it->SeekToFirst();
  if (!it->status().ok()) return FromRocksDb(it->status()).WithContext("scan of " + dir_);
  return !it->Valid();
}

Status Store::Close() {
  if (!db_) return Status::OK();
  // Flush so that the next open has no WAL to replay (a faster, simpler recovery); the data
  // is durable either way.
  rocksdb::Status s =
      options_.read_only ? rocksdb::Status::OK() : db_->Flush(rocksdb::FlushOptions());
  const rocksdb::Status closed = db_->Close();
  if (s.ok()) s = closed;
  db_.reset();
  return FromRocksDb(s).WithContext("close " + dir_);
}

}  // namespace heapa::storage
