#include "storage/pool_locator.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "storage/pool_dir.h"

namespace heapa::storage {
namespace fs = std::filesystem;

Result<std::vector<LocatedPool>> LocatePools(const std::string& path,
                                             const std::optional<std::string>& only) {
  std::error_code ec;
  std::vector<LocatedPool> out;
  if (fs::exists(fs::path(path) / "LIVE", ec)) {
    std::string name = fs::path(path).lexically_normal().filename().string();
    if (name.empty()) name = fs::path(path).lexically_normal().parent_path().filename().string();
    if (only && *only != name) {
      return Status::NotFound(path + " is the pool directory of '" + name + "', not of '" + *only +
                              "'");
    }
    out.push_back({name, path});
    return out;
  }
  const fs::path root = fs::path(path) / "pools";
  if (!fs::is_directory(root, ec)) {
    return Status::NotFound(path + " is neither a pool directory (no LIVE) nor a heapad data " +
                            "directory (no pools/)");
  }
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // Dot-names are not pools: .creating-<name> is one being built, .dropped-<name> the
    // markers of a dropped one, .trash-<name> an older build's drop (net/pool_registry.cc).
    if (name.starts_with(".") || !it->is_directory(ec)) continue;
    if (only && *only != name) continue;
    out.push_back({name, it->path().string()});
  }
  if (ec) return Status::IOError("cannot list " + root.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const LocatedPool& a, const LocatedPool& b) { return a.name < b.name; });
  if (only && out.empty()) return Status::NotFound("no pool '" + *only + "' in " + root.string());
  return out;
}

Result<std::unique_ptr<Store>> OpenLiveReadOnly(const std::string& pool_dir) {
  StoreOptions options;
  options.read_only = true;
  // A racing flush or compaction of a live daemon can remove a file between the read of the
  // MANIFEST and the open of the file; such an error goes away on a second look, real damage
  // does not. A restore may switch LIVE to a new generation meanwhile: LIVE is read again.
  constexpr int kAttempts = 4;
  Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
    Result<std::string> live = PoolDir::LiveDb(pool_dir);
    if (!live.ok()) return live.status();
    Result<std::unique_ptr<Store>> store = Store::Open(*live, options);
    if (store.ok()) return store;
    last = store.status();
  }
  return last;
}

}  // namespace heapa::storage
