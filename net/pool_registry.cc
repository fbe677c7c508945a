#include "net/pool_registry.h"

#include <filesystem>

#include "storage/failpoint.h"
#include "storage/pool_dir.h"
#include "storage/request_marker.h"

namespace heapa::net {
namespace fs = std::filesystem;
namespace {

constexpr char kDroppedPrefix[] = ".dropped-";

storage::RequestId IdOf(const RequestKey& rk) { return {rk.client, rk.request}; }

// Deletes what a dropped pool's directory holds but its drop marker.
Status EmptyDropped(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename() != storage::kDroppedByMarker) doomed.push_back(entry.path());
  }
  for (const fs::path& p : doomed) {
    if (!ec) fs::remove_all(p, ec);
  }
  if (ec) return Status::IOError("empty " + dir + ": " + ec.message());
  return Status::OK();
}

}  // namespace

Status PoolRegistry::ValidateName(const std::string& name) {
  return storage::PoolDir::ValidateTag(name).WithContext("pool name");
}

std::string PoolRegistry::PoolDirIn(const std::string& data_dir, const std::string& name) {
  return (fs::path(data_dir) / "pools" / name).string();
}

std::string PoolRegistry::PoolDir(const std::string& name) const {
  return PoolDirIn(data_dir_, name);
}

std::string PoolRegistry::PoolsDir() const { return (fs::path(data_dir_) / "pools").string(); }

Result<std::unique_ptr<PoolRegistry>> PoolRegistry::Open(const std::string& data_dir,
                                                         const PoolOptions& base) {
  std::unique_ptr<PoolRegistry> reg(new PoolRegistry(data_dir, base));
  const fs::path root = fs::path(data_dir) / "pools";
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Status::IOError("create " + root.string() + ": " + ec.message());
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  if (ec) return Status::IOError("list " + root.string() + ": " + ec.message());
  for (const std::string& name : names) {
    // What a crash left: a pool being built (never acknowledged), a drop's remains (emptied
    // now if the crash came first), and the trash of older builds' drops.
    if (name.rfind(storage::kStagingPrefix, 0) == 0 || name.rfind(".trash-", 0) == 0) {
      fs::remove_all(root / name, ec);
      if (ec) return Status::IOError("remove " + (root / name).string() + ": " + ec.message());
      continue;
    }
    if (name.rfind(kDroppedPrefix, 0) == 0) {
      HEAPA_RETURN_IF_ERROR(EmptyDropped((root / name).string()));
      continue;
    }
    PoolOptions o = base;
    o.create_if_missing = false;
    auto pool = Pool::Open(reg->PoolDir(name), o);
    if (!pool.ok()) return pool.status().WithContext("pool '" + name + "'");
    reg->pools_.emplace(name, std::shared_ptr<Pool>(std::move(pool).value()));
  }
  return reg;
}

Result<std::shared_ptr<Pool>> PoolRegistry::Find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pools_.find(name);
  if (it == pools_.end()) return Status::NotFound("pool '" + name + "' not found");
  return it->second;
}

std::vector<std::string> PoolRegistry::Names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, pool] : pools_) out.push_back(name);
  return out;
}

std::vector<std::pair<std::string, uint64_t>> PoolRegistry::DurableSeqs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [name, pool] : pools_) {
    out.emplace_back(name, pool->durable_seq());
  }
  return out;
}

Status PoolRegistry::Create(const std::string& name, const PoolConfig& config,
                            const RequestKey& rk) {
  HEAPA_RETURN_IF_ERROR(ValidateName(name));
  std::lock_guard<std::mutex> admin(admin_mu_);
  HEAPA_ASSIGN_OR_RETURN(const bool made, MadeBy(name, rk));
  if (made) return Status::OK();
  const std::string staging = ClearStaging(name);
  PoolOptions o = base_;
  o.create_if_missing = true;
  o.error_if_exists = true;
  o.config = config;
  HEAPA_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool, Pool::Open(staging, o));
  HEAPA_RETURN_IF_ERROR(pool->Close());
  pool.reset();
  return Publish(staging, name, rk);
}

Status PoolRegistry::Drop(const std::string& name, const RequestKey& rk) {
  std::lock_guard<std::mutex> admin(admin_mu_);
  const std::string dropped = (fs::path(PoolsDir()) / (kDroppedPrefix + name)).string();
  if (storage::HasRequestMarker(dropped, storage::kDroppedByMarker, IdOf(rk))) return Status::OK();
  std::shared_ptr<Pool> pool;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pools_.find(name);
    if (it == pools_.end()) return Status::NotFound("pool '" + name + "' not found");
    pool = it->second;
    pools_.erase(it);
  }
  HEAPA_RETURN_IF_ERROR(pool->Close());
  // Rename first (atomic), then delete: a crash mid-delete leaves a dropped directory that
  // the next Open empties, never a half-deleted pool that looks alive. The marker goes in
  // before the rename, replacing a stale one of an attempt that did not get that far.
  const std::string dir = PoolDir(name);
  std::error_code ec;
  fs::remove_all(dropped, ec);  // the name's previous drop is forgotten
  if (IdOf(rk).valid()) {
    HEAPA_RETURN_IF_ERROR(storage::WriteRequestMarker(dir, storage::kDroppedByMarker, IdOf(rk)));
  } else {
    fs::remove(fs::path(dir) / storage::kDroppedByMarker, ec);
  }
  storage::Failpoint("admin.before_publish");
  fs::rename(dir, dropped, ec);
  if (ec) return Status::IOError("drop " + name + ": " + ec.message());
  HEAPA_RETURN_IF_ERROR(storage::PoolDir::SyncDir(PoolsDir()));
  storage::Failpoint("admin.after_publish");
  return EmptyDropped(dropped);
}

Status PoolRegistry::Fork(const std::string& name, const std::string& new_name,
                          const std::optional<std::string>& tag, const RequestKey& rk) {
  HEAPA_RETURN_IF_ERROR(ValidateName(new_name));
  std::lock_guard<std::mutex> admin(admin_mu_);
  HEAPA_ASSIGN_OR_RETURN(const bool made, MadeBy(new_name, rk));
  if (made) return Status::OK();
  HEAPA_ASSIGN_OR_RETURN(std::shared_ptr<Pool> src, Find(name));
  const std::string staging = ClearStaging(new_name);
  HEAPA_RETURN_IF_ERROR(src->Fork(staging, tag));
  return Publish(staging, new_name, rk);
}

Result<bool> PoolRegistry::MadeBy(const std::string& name, const RequestKey& rk) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!pools_.count(name)) return false;
  if (storage::HasRequestMarker(PoolDir(name), storage::kCreatedByMarker, IdOf(rk))) return true;
  return Status::AlreadyExists("pool '" + name + "' exists");
}

std::string PoolRegistry::ClearStaging(const std::string& name) const {
  const std::string staging = (fs::path(PoolsDir()) / (storage::kStagingPrefix + name)).string();
  std::error_code ec;
  fs::remove_all(staging, ec);  // an interrupted attempt's; what cannot go fails the build
  return staging;
}

Status PoolRegistry::Publish(const std::string& staging, const std::string& name,
                             const RequestKey& rk) {
  if (IdOf(rk).valid()) {
    HEAPA_RETURN_IF_ERROR(
        storage::WriteRequestMarker(staging, storage::kCreatedByMarker, IdOf(rk)));
  }
  storage::Failpoint("admin.before_publish");
  std::error_code ec;
  fs::rename(staging, PoolDir(name), ec);
  if (ec) return Status::IOError("rename " + staging + ": " + ec.message());
  HEAPA_RETURN_IF_ERROR(storage::PoolDir::SyncDir(PoolsDir()));
  storage::Failpoint("admin.after_publish");
  PoolOptions o = base_;
  o.create_if_missing = false;
  HEAPA_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool, Pool::Open(PoolDir(name), o));
  std::lock_guard<std::mutex> lock(mu_);
  pools_.emplace(name, std::shared_ptr<Pool>(std::move(pool)));
  return Status::OK();
}

Status PoolRegistry::CloseAll() {
  std::lock_guard<std::mutex> lock(mu_);
  Status first;
  for (auto& [name, pool] : pools_) {
    Status s = pool->Close();
    if (first.ok() && !s.ok()) first = s.WithContext("pool '" + name + "'");
  }
  return first;
}

}  // namespace heapa::net
