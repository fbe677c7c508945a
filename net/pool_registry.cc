#include "net/pool_registry.h"

#include <filesystem>

#include "storage/pool_dir.h"

namespace heapa::net {
namespace fs = std::filesystem;

Status PoolRegistry::ValidateName(const std::string& name) {
  return storage::PoolDir::ValidateTag(name).WithContext("pool name");
}

std::string PoolRegistry::PoolDirIn(const std::string& data_dir, const std::string& name) {
  return (fs::path(data_dir) / "pools" / name).string();
}

std::string PoolRegistry::PoolDir(const std::string& name) const {
  return PoolDirIn(data_dir_, name);
}

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
    if (name.rfind(".trash-", 0) == 0) {  // an interrupted drop
      fs::remove_all(root / name, ec);
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

Status PoolRegistry::Create(const std::string& name, const PoolConfig& config) {
  HEAPA_RETURN_IF_ERROR(ValidateName(name));
  std::lock_guard<std::mutex> lock(mu_);
  if (pools_.count(name)) return Status::AlreadyExists("pool '" + name + "' exists");
  PoolOptions o = base_;
  o.create_if_missing = true;
  o.error_if_exists = true;
  o.config = config;
  HEAPA_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool, Pool::Open(PoolDir(name), o));
  pools_.emplace(name, std::shared_ptr<Pool>(std::move(pool)));
  return Status::OK();
}

Status PoolRegistry::Drop(const std::string& name) {
  std::shared_ptr<Pool> pool;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pools_.find(name);
    if (it == pools_.end()) return Status::NotFound("pool '" + name + "' not found");
    pool = it->second;
    pools_.erase(it);
  }
  HEAPA_RETURN_IF_ERROR(pool->Close());
  // Rename first (atomic), then delete: a crash mid-delete leaves a trash directory that the
  // next Open removes, never a half-deleted pool that looks alive.
  const fs::path trash = fs::path(data_dir_) / "pools" / (".trash-" + name);
  std::error_code ec;
  fs::remove_all(trash, ec);
  fs::rename(PoolDir(name), trash, ec);
  if (ec) return Status::IOError("drop " + name + ": " + ec.message());
  HEAPA_RETURN_IF_ERROR(storage::PoolDir::SyncDir((fs::path(data_dir_) / "pools").string()));
  fs::remove_all(trash, ec);
  return Status::OK();
}

Status PoolRegistry::Fork(const std::string& name, const std::string& new_name,
                          const std::optional<std::string>& tag) {
  HEAPA_RETURN_IF_ERROR(ValidateName(new_name));
  HEAPA_ASSIGN_OR_RETURN(std::shared_ptr<Pool> src, Find(name));
  std::lock_guard<std::mutex> lock(mu_);
  if (pools_.count(new_name)) return Status::AlreadyExists("pool '" + new_name + "' exists");
  HEAPA_RETURN_IF_ERROR(src->Fork(PoolDir(new_name), tag));
  PoolOptions o = base_;
  o.create_if_missing = false;
  HEAPA_ASSIGN_OR_RETURN(std::unique_ptr<Pool> pool, Pool::Open(PoolDir(new_name), o));
  pools_.emplace(new_name, std::shared_ptr<Pool>(std::move(pool)));
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
