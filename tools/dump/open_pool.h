// Picks the pool heapa-dump works on and opens it read-only (storage/pool_locator.h).
//
// Thread safety: stateless.
#ifndef HEAPA_TOOLS_DUMP_OPEN_POOL_H_
#define HEAPA_TOOLS_DUMP_OPEN_POOL_H_

#include <memory>
#include <optional>
#include <string>

#include "storage/pool_locator.h"
#include "storage/result.h"
#include "storage/store.h"

namespace heapa::dump {

// The one pool under `path`: `pool` when given, else the only one there. InvalidArgument
// (listing the names) when `path` holds several and none was picked; NotFound as
// storage::LocatePools.
Result<storage::LocatedPool> PickPool(const std::string& path,
                                      const std::optional<std::string>& pool);

}  // namespace heapa::dump

#endif  // HEAPA_TOOLS_DUMP_OPEN_POOL_H_
