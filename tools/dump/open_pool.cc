#include "tools/dump/open_pool.h"

#include <vector>

namespace heapa::dump {

Result<storage::LocatedPool> PickPool(const std::string& path,
                                      const std::optional<std::string>& pool) {
  HEAPA_ASSIGN_OR_RETURN(std::vector<storage::LocatedPool> pools,
                         storage::LocatePools(path, pool));
  if (pools.empty()) return Status::NotFound(path + " holds no pool");
  if (pools.size() > 1) {
    std::string names;
    for (const storage::LocatedPool& p : pools) names += (names.empty() ? "" : ", ") + p.name;
    return Status::InvalidArgument(path + " holds " + std::to_string(pools.size()) +
                                   " pools (" + names + "); pick one with --pool");
  }
  return pools.front();
}

}  // namespace heapa::dump
