// storage::PoolDir: the files of one pool directory, and the crash-safe switch between
// database generations that Restore needs.
//
//   <dir>/LIVE                names the live generation, e.g. "db-000003"
//   <dir>/db-000003/          the live RocksDB database
//   <dir>/checkpoints/<tag>/  RocksDB checkpoints (SST files hard-linked); each is built as
//                             checkpoints/.creating-<tag>/ and renamed into place when complete
//
// LIVE changes only by writing LIVE.tmp, fsync, rename over LIVE, fsync of <dir>: a crash
// leaves either the old or the new generation live, never neither. Generations that LIVE does
// not name are leftovers of an interrupted restore and are removed on open.
//
// Thread safety: stateless functions; callers serialize operations on one directory.
#ifndef HEAPA_STORAGE_POOL_DIR_H_
#define HEAPA_STORAGE_POOL_DIR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "storage/result.h"
#include "storage/status.h"

namespace heapa::storage {

// A directory being built (a checkpoint here; a pool in net::PoolRegistry) is named with this
// prefix until a rename publishes it whole. Tags and pool names never start with '.', so a
// staging directory is never taken for a finished one; leftovers are removed on open.
inline constexpr char kStagingPrefix[] = ".creating-";

struct CheckpointInfo {
  std::string tag;
  int64_t created_ms = 0;  // modification time of the checkpoint directory
  uint64_t bytes = 0;      // sum of its file sizes (hard-linked files count fully)
};

class PoolDir {
 public:
  // The path of the live database. NotFound when `dir` holds no pool; Corruption when LIVE
  // names a generation that is not there.
  static Result<std::string> LiveDb(const std::string& dir);

  // Makes `dir` a pool directory with an empty first generation and returns its path.
  // AlreadyExists when `dir` already holds a pool.
  static Result<std::string> Create(const std::string& dir);

  // A fresh generation path in `dir` (not yet created, not live).
  static Result<std::string> NewGeneration(const std::string& dir);

  // Makes the generation at `db_path` (inside `dir`) live, atomically and durably. An error
  // may come before the rename (LIVE unchanged) or after it (LIVE switched, the directory's
  // fsync failed): a caller that must know reads LIVE again.
  static Status SwitchLive(const std::string& dir, const std::string& db_path);

  // Removes generations that LIVE does not name, temporary files and checkpoints left half
  // built (checkpoints/.creating-*).
  static Status RemoveStale(const std::string& dir);

  // InvalidArgument unless `tag` is 1-64 characters of [A-Za-z0-9._-], not starting with '.'.
  static Status ValidateTag(const std::string& tag);
  static std::string CheckpointPath(const std::string& dir, const std::string& tag);
  // Where checkpoint `tag` is built before it is renamed to CheckpointPath.
  static std::string CheckpointStagingPath(const std::string& dir, const std::string& tag);
  // Tags in name order. An absent checkpoints directory lists nothing.
  static Result<std::vector<CheckpointInfo>> ListCheckpoints(const std::string& dir);

  // Copies the database at `src` to the new directory `dst`: SST files (immutable) are
  // hard-linked, everything else but request markers (which describe `src`, not its data,
  // storage/request_marker.h) is copied; files and directory are fsync'ed.
  static Status CloneDb(const std::string& src, const std::string& dst);

  // fsync of a directory, so that entries created or renamed in it are durable.
  static Status SyncDir(const std::string& dir);
  // The end of an admin request's publication, a rename into `parent`: SyncDir(parent), then
  // the admin.after_publish failpoint (storage/failpoint.h). An error does not undo the rename.
  static Status SyncPublication(const std::string& parent);
};

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_POOL_DIR_H_
