// storage::Store: one pool's RocksDB instance, with one write path and a strict scan.
//
// The Store knows bytes, keys and durability, not pool semantics. Every mutation of a pool is
// one Batch passed to Write(), which returns only after the batch is in the WAL and, with
// StoreOptions::sync (the default), fdatasync'ed. RocksDB options follow
// reliability-plan §5 (point-in-time WAL recovery, paranoid checks, no automatic resume after
// a background error), with two column families where the plan has one: keys are routed to
// them by family (keys.h) inside the Store, so callers see one ordered key space, and one
// batch still commits atomically across both (one WAL).
//
// Thread safety: all methods may be called concurrently (RocksDB serializes writers), Close()
// too: it waits for the calls under way, and later ones fail with Unavailable.
#ifndef HEAPA_STORAGE_STORE_H_
#define HEAPA_STORAGE_STORE_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/batch.h"
#include "storage/result.h"
#include "storage/spare_thread.h"
#include "storage/status.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Statistics;
class Snapshot;
}  // namespace rocksdb

namespace heapa::storage {

struct StoreOptions {
  // Create the database when `dir` holds none. Off by default so that a wrong or unmounted
  // path is an error, never a silently empty pool (reliability-plan R9).
  bool create_if_missing = false;
  // With create_if_missing: fail with AlreadyExists when a database is already there.
  bool error_if_exists = false;
  // Acknowledge writes only after fdatasync of the WAL. Turning this off keeps writes safe
  // against a process crash but not against power loss; benchmarks only.
  bool sync = true;
  // Memtable budget, split evenly between the two column families. Larger is faster to fill,
  // slower to recover from the WAL.
  size_t write_buffer_bytes = 64u << 20;
  // Open read-only (the dump and check tools); Write() then fails with FailedPrecondition.
  bool read_only = false;
};

class Store {
 public:
  // Opens (or creates, see options) the database in `dir`.
  // NotFound: no database and !create_if_missing. AlreadyExists: error_if_exists.
  // Corruption / IOError: RocksDB refused to open; the message names the file when it can.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies `batch` atomically and durably. On error nothing of the batch may be assumed
  // applied or not applied (the outcome is unknown); callers stop writing and reopen. Except
  // InvalidArgument, for a DeleteRange outside the request results ('R' keys; store.cc says
  // why): then nothing was written.
  Status Write(Batch* batch);

  // NotFound when `key` is absent; Corruption when a checksum fails on the way.
  Status Get(std::string_view key, std::string* value) const;

  // Reads many keys at once (RocksDB's batched MultiGet: one pass over memtable and files).
  // (*values)[i] and the returned statuses[i] answer keys[i]: OK, NotFound, or an error.
  std::vector<Status> MultiGet(const std::vector<std::string>& keys,
                               std::vector<std::string>* values) const;

  // The greatest key that starts with `prefix` (nullopt: none), read with checksum
  // verification. REQUIRES: `prefix` is not empty.
  Result<std::optional<std::string>> LastKey(std::string_view prefix) const;

  // Calls fn(key, value) for every key starting with `prefix` (empty: every key), in key order,
  // reading with checksum verification. Stops at the first non-OK Status from fn and returns
  // it. An iterator error is returned as Corruption/IOError naming the last key read
  // successfully. Views are valid only during the call.
  using ScanFn = std::function<Status(std::string_view key, std::string_view value)>;
  Status Scan(std::string_view prefix, const ScanFn& fn) const;

  // A read-only view of the store as of its creation (a RocksDB snapshot), for long scans that
  // must see one state while writes go on. Close() waits until every view is destroyed, so
  // keep one only for the scans, on a Store that outlives it, and make no other call on the
  // store from the thread holding it (a second shared hold may wait behind a Close).
  class View {
   public:
    ~View();
    View(const View&) = delete;
    View& operator=(const View&) = delete;
    // As Store::Scan, as of the view.
    Status Scan(std::string_view prefix, const ScanFn& fn) const;

   private:
    friend class Store;
    View(const Store* store, std::shared_lock<std::shared_mutex> open);
    const Store* store_;
    std::shared_lock<std::shared_mutex> open_;  // holds off Close() while the view lives
    const rocksdb::Snapshot* snapshot_;
  };
  // Unavailable when the store is closed.
  Result<std::unique_ptr<View>> NewView() const;

  // Writes a consistent copy of the database to `dir` (which must not exist): memtables are
  // flushed and SST files hard-linked, so it is cheap and writers are not paused for long.
  Status CreateCheckpoint(const std::string& dir);

  // True when the database holds no key at all (a freshly created store).
  Result<bool> IsEmpty() const;

  // The WAL syncs since this store was opened, as RocksDB counts them in its write path
  // (ticker WAL_FILE_SYNCED): one per synced Write (writes RocksDB groups share one), none
  // for unsynced ones. The evidence that an acknowledged write was synced. Any thread; still
  // readable after Close().
  uint64_t WalSyncs() const;

  // After a failed write (the database stopped accepting writes): tries to make it writable
  // again (RocksDB Resume: memtables are flushed to SST files, the WAL restarted). OK when
  // writes are accepted again; the error otherwise (e.g. the disk is still full).
  Status Resume();

  // Flushes memtables and closes the database; later calls fail with Unavailable.
  // Idempotent. Waits for the reads and writes under way on other threads.
  Status Close();

  const std::string& dir() const { return dir_; }

  // Test-only failpoint: while set, Write() returns `error` without writing anything (what a
  // failed WAL append or fsync looks like to the caller), or, with `after_writing`, once the
  // batch is written (and synced, with StoreOptions::sync): a failure whose write reached the
  // disk all the same, which the caller cannot tell apart. Resume() fails with it too. OK
  // clears it.
  void TEST_FailWrites(const Status& error, bool after_writing = false);

 private:
  Store(std::string dir, const StoreOptions& options,
        std::shared_ptr<rocksdb::Statistics> statistics, rocksdb::DB* db,
        rocksdb::ColumnFamilyHandle* queries);
  // The TEST_FailWrites failpoint (OK when unset), and whether it fails after writing.
  Status InjectedFailure(bool* after_writing = nullptr) const;
  // The shared hold of open_mu_ that every method takes to use the database; none (empty)
  // once the store is closed or Close() has begun.
  std::shared_lock<std::shared_mutex> Use() const;
  // What a call on a closed store returns.
  Status Closed() const;
  // Scan as of `snapshot` (nullptr: the latest state). REQUIRES: open_mu_ held, db_ open.
  Status ScanLocked(std::string_view prefix, const ScanFn& fn,
                    const rocksdb::Snapshot* snapshot) const;
  // The column family `key` lives in.
  rocksdb::ColumnFamilyHandle* FamilyOf(std::string_view key) const;

  const std::string dir_;
  const StoreOptions options_;
  mutable SpareThread spare_;  // reads half of a large MultiGet
  // Every method holds open_mu_ shared while it uses the database, and Close() alone, so that
  // a read on another thread never meets a database being closed. closing_ turns new calls
  // away first: readers never starve a Close (std::shared_mutex may prefer readers).
  mutable std::shared_mutex open_mu_;
  std::atomic<bool> closing_{false};
  const std::shared_ptr<rocksdb::Statistics> statistics_;  // db_'s tickers (WalSyncs)
  std::unique_ptr<rocksdb::DB> db_;                        // guarded by open_mu_
  rocksdb::ColumnFamilyHandle* queries_;  // kQueriesColumnFamily; destroyed by Close()
  mutable std::mutex fail_mu_;            // the failpoint is set by a test thread, read by writers
  Status fail_writes_;                    // guarded by fail_mu_
  bool fail_after_writing_ = false;       // guarded by fail_mu_
};

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_STORE_H_
