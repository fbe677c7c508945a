// storage::PoolLocator: finds the pools under a path and opens one's live database read-only,
// for the offline tools (heapa-dump, heapa-check) that may run next to a live heapad.
//
// A path is either a pool directory (it holds LIVE, storage/pool_dir.h) or a heapad data
// directory (it holds pools/<name>/, net/pool_registry.h).
//
// A read-only open takes no lock and writes nothing in the database directory, so it never
// blocks nor disturbs a daemon that has the pool open: it sees the database as of the moment
// of the open (the WAL is replayed in memory, torn tails are cut). The daemon may switch
// files (a flush, a compaction, a new MANIFEST) while the open reads them; the open is then
// retried a few times before its error is returned.
//
// Thread safety: stateless functions.
#ifndef HEAPA_STORAGE_POOL_LOCATOR_H_
#define HEAPA_STORAGE_POOL_LOCATOR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/result.h"
#include "storage/store.h"

namespace heapa::storage {

struct LocatedPool {
  std::string name;  // the name under pools/, or the directory's own name for a pool directory
  std::string dir;   // the pool directory
};

// The pools under `path`, in name order; with `only`, just the pool of that name.
// NotFound: `path` is neither kind of directory, or holds no pool named `only`.
Result<std::vector<LocatedPool>> LocatePools(const std::string& path,
                                             const std::optional<std::string>& only);

// Opens the live database of the pool directory `pool_dir` read-only (see the file comment).
// NotFound: no pool there. Corruption / IOError: RocksDB refused, after the retries.
Result<std::unique_ptr<Store>> OpenLiveReadOnly(const std::string& pool_dir);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_POOL_LOCATOR_H_
