#include "storage/wal_sync_counter.h"

#include <rocksdb/file_system.h>

#include <string>
#include <utility>

namespace heapa::storage {
namespace {

// A writable file that counts its syncs.
class CountedFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  CountedFile(std::unique_ptr<rocksdb::FSWritableFile> file,
              std::shared_ptr<std::atomic<uint64_t>> syncs)
      : FSWritableFileOwnerWrapper(std::move(file)), syncs_(std::move(syncs)) {}

  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return Counted(target()->Sync(options, dbg));
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return Counted(target()->Fsync(options, dbg));
  }

 private:
  // Only a sync that succeeded counts.
  rocksdb::IOStatus Counted(rocksdb::IOStatus s) {
    if (s.ok()) syncs_->fetch_add(1, std::memory_order_relaxed);
    return s;
  }

  const std::shared_ptr<std::atomic<uint64_t>> syncs_;
};

// The default file system, with CountedFile for the WAL files.
class WalSyncCountingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit WalSyncCountingFileSystem(std::shared_ptr<std::atomic<uint64_t>> syncs)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), syncs_(std::move(syncs)) {}

  const char* Name() const override { return "HeapaWalSyncCountingFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, file, dbg);
    return Wrapped(name, std::move(s), file);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* file,
                                       rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->ReopenWritableFile(name, options, file, dbg);
    return Wrapped(name, std::move(s), file);
  }

 private:
  static bool IsWal(const std::string& name) {
    return name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0;
  }
  rocksdb::IOStatus Wrapped(const std::string& name, rocksdb::IOStatus s,
                            std::unique_ptr<rocksdb::FSWritableFile>* file) {
    if (s.ok() && IsWal(name)) *file = std::make_unique<CountedFile>(std::move(*file), syncs_);
    return s;
  }

  const std::shared_ptr<std::atomic<uint64_t>> syncs_;
};

}  // namespace

std::unique_ptr<rocksdb::Env> NewWalSyncCountingEnv(std::shared_ptr<std::atomic<uint64_t>> syncs) {
  return rocksdb::NewCompositeEnv(std::make_shared<WalSyncCountingFileSystem>(std::move(syncs)));
}

}  // namespace heapa::storage
