#include "storage/store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <optional>
#include <shared_mutex>

#include "storage/keys.h"
#include "storage/rocksdb_status.h"

namespace heapa::storage {
namespace {

constexpr size_t kParallelReadKeys = 128;

// Whether the memtable keeps an insert hint for `key`'s family (MakeOptions): every family
// but the request results'. RocksDB 7.8 keeps one hint per prefix for the point keys and the
// range deletions of a memtable together although they are two skiplists, and a range
// deletion inserted with a point key's hint corrupts the memtable (rocksdb issue 5118, fixed
// upstream in 2024 by PR 12558): the pool retires request results with range deletions, so
// they get no hint, and Store::Write refuses a range deletion anywhere else (so reads of
// hinted keys may ignore range deletions).
bool IsRequestKey(std::string_view key) {
  return !key.empty() && key[0] == static_cast<char>(KeyFamily::kRequest);
}
bool Hinted(std::string_view key) { return !key.empty() && !IsRequestKey(key); }

// The insert hint's prefix: a key's family byte, in the hinted families.
class FamilyHint final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "heapa.FamilyHint"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return Hinted(std::string_view(key.data(), key.size()));
  }
};

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// reliability-plan §5; each deviation from a RocksDB default has its reason there, or here
// (the block cache, compression, bytes_per_sync and compaction trigger: measured choices).
rocksdb::Options MakeOptions(const StoreOptions& o) {
  rocksdb::Options opt;
  opt.create_if_missing = o.create_if_missing;
  opt.create_missing_column_families = o.create_if_missing;
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
  // A Bloom filter in the memtable too: the dedup lookup of a new prompt and the first stats
  // read of a query are misses, and without it each walks the memtable skiplist.
  opt.memtable_whole_key_filtering = true;
  opt.memtable_prefix_bloom_size_ratio = 0.1;
  // A report writes its 512 statistics records in key order, so each memtable insert starts
  // from where the previous one of its family ended (a hint per key prefix) instead of from
  // the top of the skiplist. RocksDB ignores the hint when memtable writes may be concurrent,
  // hence those are off: the committer writes one group at a time anyway. Timed with RocksDB's
  // perf context, the memtable insert of a 512-report took 0.55-0.82 ms instead of 0.76-0.92
  // on a fresh 1M pool and 1.31-1.39 instead of 1.48-1.58 on one aged by 3,000 steps (three
  // alternated rounds each, README, session 12).
  opt.memtable_insert_with_hint_prefix_extractor = std::make_shared<FamilyHint>();
  opt.allow_concurrent_memtable_write = false;
  // Bloom filters make the dedup lookup of a new prompt (a miss) cheap.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // No block cache: a report reads the statistics of 512 queries at random, one block each.
  // Once most queries have been reported, a 64 MB cache held a third of those blocks, and
  // every miss paid a cache insert and an eviction on top of its read (8 us a key). The page
  // cache serves the blocks instead. On a 1M pool aged by 3,000 steps, a step took 8.6-8.9 ms
  // instead of 11.3-12.0 (p99 17-18 against 27-28) and the process 172 MB instead of 328
  // (README, session 10). Without compression too, the step took as long with a third less
  // CPU, but a worse p99, 50% more disk and more writeback beside the WAL's fdatasync.
  table.no_block_cache = true;
  opt.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Each of the two column families gets half of the configured memtable budget.
  opt.write_buffer_size = std::max<size_t>(o.write_buffer_bytes / 2, 1u << 20);
  // Samples and reports rewrite records all over the default family's key range, so every
  // L0->L1 compaction rewrites all of L1 (the dedup keys, the stats, the chunks): compacting
  // after 8 flushed files instead of 4 halves that work. 1000 steps on a 1M pool took 16-20 s
  // of CPU instead of 21-23 (README, session 6); a stats read checks up to 8 L0 filters.
  opt.level0_file_num_compaction_trigger = 8;
  // LZ4 rather than Snappy: a report reads 512 statistics records at random, each a block to
  // decompress, and LZ4 decompresses faster. On a 1M pool aged by 1,500 steps those reads
  // took 1.79-1.84 ms instead of 1.97-2.03 ms, for 5% more bytes (README, session 7).
  opt.compression = rocksdb::kLZ4Compression;
  // Writeback of flushed and compacted files starts every megabyte (sync_file_range) rather
  // than all at their final fsync, so that the WAL's fdatasync does not queue behind tens of
  // megabytes of them.
  opt.bytes_per_sync = 1u << 20;
  return opt;
}

// Opens `dir` with both column families. An existing database must already have them: one
// without is a pool of format 1, which this build does not read (and must not change).
rocksdb::Status OpenDb(const rocksdb::Options& opt, const StoreOptions& o, const std::string& dir,
                       rocksdb::DB** db, std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  // The prompts are read one at a time at random (every sampled query's text), without a
  // block cache like the default family, and uncompressed: decompressing a whole block for
  // each cost more than the disk it saves. Uncompressed, a 1M pool of 300-byte texts took
  // 9-11 ms a step instead of 14-15 ms, for 471 MB on disk instead of 206 (README). Without a
  // cache, the 512 reads of a Sample of a 1M pool aged by 1,500 steps took 3.4-3.6 ms instead
  // of 4.4-4.6 (README, session 7).
  // No Bloom filter here: a prompt is read only for an id the index holds, so every lookup
  // is a hit and a filter would only cost a probe.
  rocksdb::ColumnFamilyOptions queries(opt);
  queries.compression = rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions prompt_table;
  prompt_table.no_block_cache = true;
  queries.table_factory.reset(rocksdb::NewBlockBasedTableFactory(prompt_table));
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, opt},
      {kQueriesColumnFamily, queries},
  };
  return o.read_only ? rocksdb::DB::OpenForReadOnly(opt, dir, families, handles, db)
                     : rocksdb::DB::Open(opt, dir, families, handles, db);
}

}  // namespace

Store::Store(std::string dir, const StoreOptions& options,
             std::shared_ptr<rocksdb::Statistics> statistics, rocksdb::DB* db,
             rocksdb::ColumnFamilyHandle* queries)
    : dir_(std::move(dir)),
      options_(options),
      statistics_(std::move(statistics)),
      db_(db),
      queries_(queries) {}

uint64_t Store::WalSyncs() const { return statistics_->getTickerCount(rocksdb::WAL_FILE_SYNCED); }

rocksdb::ColumnFamilyHandle* Store::FamilyOf(std::string_view key) const {
  return InQueriesColumnFamily(key) ? queries_ : db_->DefaultColumnFamily();
}

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
  // RocksDB's tickers, for Store::WalSyncs: counters only (no histograms or timers, which
  // cost a clock read per operation).
  opt.statistics = rocksdb::CreateDBStatistics();
  opt.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  // No in-memory history of those statistics (1 MiB a database, sampled every 10 minutes).
  opt.stats_persist_period_sec = 0;
  std::error_code exists_ec;
  if (std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", exists_ec)) {
    std::vector<std::string> names;
    rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(opt, dir, &names);
    if (!listed.ok()) return FromRocksDb(listed).WithContext("open " + dir);
    if (std::find(names.begin(), names.end(), kQueriesColumnFamily) == names.end()) {
      return Status::FailedPrecondition(
          "the database in " + dir + " has no '" + kQueriesColumnFamily +
          "' column family: it was written in pool format 1; this build reads format " +
          std::to_string(kFormatVersion) + " (export it with the heapa that wrote it)");
    }
  }
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = OpenDb(opt, options, dir, &db, &handles);
  if (!s.ok()) return FromRocksDb(s).WithContext("open " + dir);
  // The default family's handle is the DB's own; only the second one is ours to destroy.
  (void)db->DestroyColumnFamilyHandle(handles[0]);
  return std::unique_ptr<Store>(new Store(dir, options, opt.statistics, db, handles[1]));
}

Status Store::Write(Batch* batch) {
  std::shared_lock<std::shared_mutex> open = Use();
  if (!open) return Closed();
  if (options_.read_only) return Status::FailedPrecondition("store " + dir_ + " is read-only");
  bool after_writing = false;
  const Status injected = InjectedFailure(&after_writing);
  if (!injected.ok() && !after_writing) return injected;
  // protection_bytes_per_key=8: per-key checksums from here through the memtable
  // (reliability-plan §5), so memory corruption is caught before it reaches the WAL.
  rocksdb::WriteBatch rep(/*reserved_bytes=*/batch->bytes() + 16 * batch->count() + 64,
                          /*max_bytes=*/0, /*protection_bytes_per_key=*/8, /*default_cf_ts_sz=*/0);
  rocksdb::Status built;
  batch->ForEach([&](const Batch::Operation& op) {
    if (!built.ok()) return;
    rocksdb::ColumnFamilyHandle* family = FamilyOf(op.key);
    switch (op.kind) {
      case Batch::Operation::Kind::kPut:
        built = rep.Put(family, ToSlice(op.key), ToSlice(op.value));
        break;
      case Batch::Operation::Kind::kDelete:
        built = rep.Delete(family, ToSlice(op.key));
        break;
      case Batch::Operation::Kind::kDeleteRange:
        // Both ends among the request results: the range is, and in one column family.
        if (!IsRequestKey(op.key) || !IsRequestKey(op.value)) {
          built = rocksdb::Status::InvalidArgument(
              "a range deletion outside the request results (RocksDB 7.8 would corrupt the "
              "memtable: rocksdb issue 5118)");
        } else {
          built = rep.DeleteRange(family, ToSlice(op.key), ToSlice(op.value));
        }
        break;
    }
  });
  if (!built.ok()) return FromRocksDb(built).WithContext("batch for " + dir_);
  rocksdb::WriteOptions w;
  w.sync = options_.sync;
  w.disableWAL = false;
  w.no_slowdown = false;
  const Status written = FromRocksDb(db_->Write(w, &rep));
  if (written.ok() && !injected.ok()) return injected;  // durable all the same
  return written;
}

void Store::TEST_FailWrites(const Status& error, bool after_writing) {
  std::lock_guard<std::mutex> lock(fail_mu_);
  fail_writes_ = error;
  fail_after_writing_ = after_writing;
}

Status Store::InjectedFailure(bool* after_writing) const {
  std::lock_guard<std::mutex> lock(fail_mu_);
  if (after_writing != nullptr) *after_writing = fail_after_writing_;
  return fail_writes_;
}

Status Store::Resume() {
  std::shared_lock<std::shared_mutex> open = Use();
  if (!open) return Closed();
  if (Status injected = InjectedFailure(); !injected.ok()) return injected;
  return FromRocksDb(db_->Resume()).WithContext("resume " + dir_);
}

Status Store::Get(std::string_view key, std::string* value) const {
  std::shared_lock<std::shared_mutex> open = Use();
  if (!open) return Closed();
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  r.ignore_range_deletions = Hinted(key);  // none there (Write)
  rocksdb::Status s = db_->Get(r, FamilyOf(key), ToSlice(key), value);
  if (s.IsNotFound()) return Status::NotFound(DescribeKey(key) + " not found");
  return FromRocksDb(s).WithContext("read " + DescribeKey(key));
}

Result<std::optional<std::string>> Store::LastKey(std::string_view prefix) const {
  std::shared_lock<std::shared_mutex> open = Use();
  if (!open) return Closed();
  // The least key above every key with the prefix: drop trailing 0xff bytes, then add one to
  // the last byte (no bound at all when every byte is 0xff).
  std::string bound(prefix);
  while (!bound.empty() && static_cast<unsigned char>(bound.back()) == 0xff) bound.pop_back();
  if (!bound.empty())
    bound.back() = static_cast<char>(static_cast<unsigned char>(bound.back()) + 1);
  const rocksdb::Slice lower = ToSlice(prefix);
  const rocksdb::Slice upper = ToSlice(bound);
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  r.total_order_seek = true;
  r.iterate_lower_bound = &lower;  // stops a backward walk over deleted keys at the prefix
  if (!bound.empty()) r.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(r, FamilyOf(prefix)));
  it->SeekToLast();
  if (!it->status().ok()) {
    return FromRocksDb(it->status()).WithContext("seek below " + DescribeKey(bound));
  }
  if (!it->Valid()) return std::optional<std::string>();
  const std::string_view key(it->key().data(), it->key().size());
  if (!key.starts_with(prefix)) return std::optional<std::string>();
  return std::optional<std::string>(std::string(key));
}

std::vector<Status> Store::MultiGet(const std::vector<std::string>& keys,
                                    std::vector<std::string>* values) const {
  std::vector<Status> out(keys.size());
  values->assign(keys.size(), std::string());
  std::shared_lock<std::shared_mutex> open = Use();
  if (!open) {
    for (Status& s : out) s = Closed();
    return out;
  }
  // Sorted by (family, key): RocksDB then walks each level of each family once.
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const bool qa = InQueriesColumnFamily(keys[a]), qb = InQueriesColumnFamily(keys[b]);
    return qa != qb ? qa < qb : keys[a] < keys[b];
  });
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  std::vector<rocksdb::Slice> slices;
  families.reserve(keys.size());
  slices.reserve(keys.size());
  for (size_t i : order) {
    families.push_back(FamilyOf(keys[i]));
    slices.push_back(ToSlice(keys[i]));
  }
  std::vector<rocksdb::PinnableSlice> pinned(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  // Range deletions are among the request results only (Write). Reads of other keys skip
  // them: RocksDB 7.8's MultiGet passes over the memtable's Bloom filter (the dedup lookup of
  // a new prompt, a miss) while the memtable holds any range deletion.
  r.ignore_range_deletions = std::all_of(keys.begin(), keys.end(), Hinted);
  auto read = [&](size_t begin, size_t end) {
    try {
      db_->MultiGet(r, end - begin, families.data() + begin, slices.data() + begin,
                    pinned.data() + begin, statuses.data() + begin, /*sorted_input=*/true);
    } catch (...) {
      // Out of memory: no exception leaves the store (nor the spare thread), and the status
      // has no message, which would allocate.
      for (size_t j = begin; j < end; ++j) statuses[j] = rocksdb::Status::Aborted();
    }
  };
  // A large batch is read in two halves, the second on the spare thread unless another
  // caller's read has it (or there is no thread to be had): then all of it here. The task
  // captures two references, which std::function keeps without allocating.
  const bool halved = keys.size() >= kParallelReadKeys &&
                      spare_.TryRun([&read, &keys] { read(keys.size() / 2, keys.size()); });
  read(0, halved ? keys.size() / 2 : keys.size());
  if (halved) spare_.Wait();
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

Status Store::Closed() const { return Status::Unavailable("store " + dir_ + " is closed"); }

std::shared_lock<std::shared_mutex> Store::Use() const {
  if (closing_.load()) return {};
  std::shared_lock<std::shared_mutex> open(open_mu_);
  if (!db_) return {};
  return open;
}

Status Store::Scan(std::string_view prefix, const ScanFn& fn) const {
  std::shared_lock<std::shared_mutex> open = Use();
  if (!open) return Closed();
  return ScanLocked(prefix, fn, nullptr);
}

Result<std::unique_ptr<Store::View>> Store::NewView() const {
  std::shared_lock<std::shared_mutex> open = Use();
  if (!open) return Closed();
  return std::unique_ptr<View>(new View(this, std::move(open)));
}

Store::View::View(const Store* store, std::shared_lock<std::shared_mutex> open)
    : store_(store), open_(std::move(open)), snapshot_(store->db_->GetSnapshot()) {}

Store::View::~View() { store_->db_->ReleaseSnapshot(snapshot_); }

Status Store::View::Scan(std::string_view prefix, const ScanFn& fn) const {
  return store_->ScanLocked(prefix, fn, snapshot_);
}

Status Store::ScanLocked(std::string_view prefix, const ScanFn& fn,
                         const rocksdb::Snapshot* snapshot) const {
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  r.fill_cache = false;
  r.total_order_seek = true;
  r.snapshot = snapshot;
  // A family's prefix names its column family; the empty prefix merges both in key order.
  std::vector<std::unique_ptr<rocksdb::Iterator>> its;
  if (prefix.empty()) {
    its.emplace_back(db_->NewIterator(r, db_->DefaultColumnFamily()));
    its.emplace_back(db_->NewIterator(r, queries_));
  } else {
    its.emplace_back(db_->NewIterator(r, FamilyOf(prefix)));
  }
  for (auto& it : its) it->Seek(ToSlice(prefix));
  std::string last_key;  // raw; described only if an error needs it
  for (;;) {
    rocksdb::Iterator* next = nullptr;
    for (auto& it : its) {
      if (it->Valid() && (next == nullptr || it->key().compare(next->key()) < 0)) next = it.get();
    }
    if (next == nullptr) break;
    const rocksdb::Slice k = next->key();
    const std::string_view key(k.data(), k.size());
    if (key.substr(0, prefix.size()) != prefix) break;
    const rocksdb::Slice v = next->value();
    Status s = fn(key, std::string_view(v.data(), v.size()));
    if (!s.ok()) return s;
    last_key.assign(key);
    next->Next();
  }
  // An iterator stops early on a checksum error: without this check a corrupt block would
  // look like the end of the data (reliability-plan R8).
  for (auto& it : its) {
    if (!it->status().ok()) {
      return FromRocksDb(it->status())
          .WithContext("scan of " + dir_ + " after key " +
                       (last_key.empty() ? std::string("<start>") : DescribeKey(last_key)));
    }
  }
  return Status::OK();
}

Status Store::CreateCheckpoint(const std::string& dir) {
  std::shared_lock<std::shared_mutex> open = Use();
  if (!open) return Closed();
  rocksdb::Checkpoint* raw = nullptr;
  HEAPA_RETURN_IF_ERROR(FromRocksDb(rocksdb::Checkpoint::Create(db_.get(), &raw)));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush = 0: always flush first, so the checkpoint needs no WAL replay.
  return FromRocksDb(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0))
      .WithContext("checkpoint of " + dir_ + " to " + dir);
}

Result<bool> Store::IsEmpty() const {
  std::shared_lock<std::shared_mutex> open = Use();
  if (!open) return Closed();
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  r.total_order_seek = true;
  for (rocksdb::ColumnFamilyHandle* family : {db_->DefaultColumnFamily(), queries_}) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(r, family));
    it->SeekToFirst();
    if (!it->status().ok()) return FromRocksDb(it->status()).WithContext("scan of " + dir_);
    if (it->Valid()) return false;
  }
  return true;
}

Status Store::Close() {
  closing_.store(true);  // no new call starts: the ones under way finish, and Close gets in
  std::unique_lock<std::shared_mutex> open(open_mu_);
  if (!db_) return Status::OK();
  // Flush so that the next open has no WAL to replay (a faster, simpler recovery); the data
  // is durable either way.
  rocksdb::Status s = options_.read_only ? rocksdb::Status::OK()
                                         : db_->Flush(rocksdb::FlushOptions(),
                                                      {db_->DefaultColumnFamily(), queries_});
  // Handles go before the database closes.
  const rocksdb::Status destroyed = db_->DestroyColumnFamilyHandle(queries_);
  queries_ = nullptr;
  if (s.ok()) s = destroyed;
  const rocksdb::Status closed = db_->Close();
  if (s.ok()) s = closed;
  db_.reset();
  return FromRocksDb(s).WithContext("close " + dir_);
}

}  // namespace heapa::storage
