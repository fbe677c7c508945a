#include "net/pool_registry.h"

#include <filesystem>

#include "storage/failpoint.h"
#include "storage/pool_dir.h"
#include "storage/request_marker.h"

namespace heapa::net {
namespace fs = std::filesystem;
namespace {

constexpr char kDroppedPrefix[] = ".dropped-";
constexpr char kTrashPrefix[] = ".trash-";

// Deletes what a dropped pool's directory holds but its markers, best effort: what is left
// is deleted by the next Open.
void EmptyDropped(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path name = entry.path().filename();
    if (name != storage::kDroppedByMarker && name != storage::kCreatedByMarker) {
      doomed.push_back(entry.path());
    }
  }
  for (const fs::path& p : doomed) fs::remove_all(p, ec);
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

std::string PoolRegistry::DroppedDir(const std::string& name) const {
  return (fs::path(PoolsDir()) / (kDroppedPrefix + name)).string();
}

std::string PoolRegistry::TrashDir(const std::string& name) const {
  return (fs::path(PoolsDir()) / (kTrashPrefix + name)).string();
}

Result<std::unique_ptr<PoolRegistry>> PoolRegistry::Open(const std::string& data_dir,
                                                         const PoolOptions& base) {
  std::unique_ptr<PoolRegistry> reg(new PoolRegistry(data_dir, base));
  const fs::path root = fs::path(data_dir) / "pools";
  std::error_code ec;
  if (fs::create_directories(root, ec)) {
    HEAPA_RETURN_IF_ERROR(storage::PoolDir::SyncDir(data_dir));  // the renames in it need it
  }
  if (ec) return Status::IOError("create " + root.string() + ": " + ec.message());
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  if (ec) return Status::IOError("list " + root.string() + ": " + ec.message());
  for (const std::string& name : names) {
    // What a crash left, removed best effort (harmless if it stays): a pool being built
    // (never acknowledged), a drop's remains (emptied now if the crash came first), and the
    // trash of older builds' drops.
    if (name.rfind(kTrashPrefix, 0) == 0) {
      // A drop that moved the name's previous drop aside and did not get to its own rename
      // (a crash): the previous one comes back. Otherwise the trash of a finished drop.
      const std::string of = name.substr(sizeof(kTrashPrefix) - 1);
      std::error_code ignored;
      if (!fs::exists(reg->DroppedDir(of), ignored)) {
        fs::rename(root / name, reg->DroppedDir(of), ignored);
      }
      fs::remove_all(root / name, ignored);
      continue;
    }
    if (name.rfind(storage::kStagingPrefix, 0) == 0) {
      std::error_code ignored;
      fs::remove_all(root / name, ignored);
      continue;
    }
    if (name.rfind(kDroppedPrefix, 0) == 0) {
      EmptyDropped((root / name).string());
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
  const BusyName busy(this, name);
  HEAPA_ASSIGN_OR_RETURN(const bool made, MadeBy(name, rk));
  if (made) return Status::OK();
  HEAPA_ASSIGN_OR_RETURN(const std::string staging, ClearStaging(name));
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
  HEAPA_RETURN_IF_ERROR(ValidateName(name));
  std::lock_guard<std::mutex> admin(admin_mu_);
  const BusyName busy(this, name);
  const std::string dropped = DroppedDir(name);
  HEAPA_ASSIGN_OR_RETURN(const bool done, storage::HasRequestMarker(
                                              dropped, storage::kDroppedByMarker, rk.marker_id()));
  // Done: its rename may not have reached the disk when this request was first answered.
  if (done) return storage::PoolDir::SyncDir(PoolsDir()).AfterPublication("drop " + name);
  HEAPA_ASSIGN_OR_RETURN(std::shared_ptr<Pool> pool, Find(name));
  // Marked while the pool still serves (or the stale marker of an attempt that did not get
  // to the rename removed): a failure here changes nothing.
  const std::string dir = PoolDir(name);
  std::error_code ec;
  if (rk.marker_id().valid()) {
    HEAPA_RETURN_IF_ERROR(
        storage::WriteRequestMarker(dir, storage::kDroppedByMarker, rk.marker_id()));
  } else {
    fs::remove(fs::path(dir) / storage::kDroppedByMarker, ec);
    if (ec) return Status::IOError("remove a drop marker in " + dir + ": " + ec.message());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    pools_.erase(name);
  }
  // Its data is about to go: a close error (a flush on a full disk) does not matter, and the
  // store is released whatever it says.
  (void)pool->Close();
  pool.reset();
  // The name's previous drop goes aside, then the pool takes its place (the publication), then
  // both are deleted: a crash mid-delete leaves a dropped directory that the next Open
  // empties, never a half-deleted pool that looks alive. A failure before the publication puts
  // everything back and serves the pool again.
  const std::string trash = TrashDir(name);
  fs::remove_all(trash, ec);
  bool moved_aside = false;
  if (!ec && fs::exists(dropped, ec) && !ec) {
    fs::rename(dropped, trash, ec);
    moved_aside = !ec;
  }
  if (!ec) {
    if (!storage::FailpointStatus("admin.before_publish").ok()) {
      ec = std::make_error_code(std::errc::io_error);  // as if the rename failed
    } else {
      fs::rename(dir, dropped, ec);
    }
  }
  if (ec) {
    Status failed = Status::IOError("drop " + name + ": " + ec.message());
    if (moved_aside) {
      fs::rename(trash, dropped, ec);
      if (ec) failed = failed.WithContext("the previous drop stays in " + trash);
    }
    if (!OpenPublished(name).ok()) failed = failed.WithContext("the pool is closed");
    return failed;
  }
  HEAPA_RETURN_IF_ERROR(
      storage::PoolDir::SyncPublication(PoolsDir()).AfterPublication("drop " + name));
  // The drop is done: what cannot be deleted now goes at the next Open.
  fs::remove_all(trash, ec);
  EmptyDropped(dropped);
  return Status::OK();
}

Status PoolRegistry::Fork(const std::string& name, const std::string& new_name,
                          const std::optional<std::string>& tag, const RequestKey& rk) {
  HEAPA_RETURN_IF_ERROR(ValidateName(new_name));
  std::lock_guard<std::mutex> admin(admin_mu_);
  const BusyName busy(this, new_name);
  HEAPA_ASSIGN_OR_RETURN(const bool made, MadeBy(new_name, rk));
  if (made) return Status::OK();
  HEAPA_ASSIGN_OR_RETURN(std::shared_ptr<Pool> src, Find(name));
  HEAPA_ASSIGN_OR_RETURN(const std::string staging, ClearStaging(new_name));
  HEAPA_RETURN_IF_ERROR(src->Fork(staging, tag));
  return Publish(staging, new_name, rk);
}

PoolRegistry::Lookup PoolRegistry::Look(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pools_.find(name);
  return Lookup{it == pools_.end() ? nullptr : it->second, busy_.count(name) > 0};
}

PoolRegistry::BusyName::BusyName(PoolRegistry* reg, std::string name)
    : reg_(reg), name_(std::move(name)) {
  std::lock_guard<std::mutex> lock(reg_->mu_);
  reg_->busy_.insert(name_);
}

PoolRegistry::BusyName::~BusyName() {
  std::lock_guard<std::mutex> lock(reg_->mu_);
  reg_->busy_.erase(name_);
}

Result<bool> PoolRegistry::DropAnswered(const std::string& name, const RequestKey& rk) const {
  if (!ValidateName(name).ok()) return false;
  const Result<bool> marked =
      storage::HasRequestMarker(DroppedDir(name), storage::kDroppedByMarker, rk.marker_id());
  // A marker that cannot be read may be this drop's.
  HEAPA_RETURN_IF_ERROR(marked.status().AfterPublication("drop " + name));
  if (!*marked) return false;
  // Its rename may not have reached the disk when the drop was first answered.
  HEAPA_RETURN_IF_ERROR(storage::PoolDir::SyncDir(PoolsDir()).AfterPublication("drop " + name));
  return true;
}

Result<bool> PoolRegistry::MadeBy(const std::string& name, const RequestKey& rk) {
  bool open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    open = pools_.count(name) > 0;
  }
  const storage::RequestId id = rk.marker_id();
  if (!open && storage::PoolDir::LiveDb(PoolDir(name)).ok()) {
    // Published by an attempt that failed after its rename (Publish): made durable and served
    // from now on. For that attempt's resend, a failure leaves the outcome unknown.
    HEAPA_ASSIGN_OR_RETURN(const bool mine,
                           storage::HasRequestMarker(PoolDir(name), storage::kCreatedByMarker, id));
    Status s = storage::PoolDir::SyncDir(PoolsDir());
    if (s.ok()) s = OpenPublished(name);
    if (mine) {
      HEAPA_RETURN_IF_ERROR(s.AfterPublication("pool '" + name + "'"));
      return true;
    }
    return Status::AlreadyExists(
        "pool '" + name + "' exists" +
        (s.ok() ? "" : " (and could not be opened: " + s.ToString() + ")"));
  }
  if (!open) {
    // Made by this request and dropped since: a late retry must not make it again.
    return storage::HasRequestMarker(DroppedDir(name), storage::kCreatedByMarker, id);
  }
  HEAPA_ASSIGN_OR_RETURN(const bool mine,
                         storage::HasRequestMarker(PoolDir(name), storage::kCreatedByMarker, id));
  // Its rename may not have reached the disk when this request was first answered.
  if (mine) {
    HEAPA_RETURN_IF_ERROR(
        storage::PoolDir::SyncDir(PoolsDir()).AfterPublication("pool '" + name + "'"));
    return true;
  }
  return Status::AlreadyExists("pool '" + name + "' exists");
}

Result<std::string> PoolRegistry::ClearStaging(const std::string& name) const {
  const std::string staging = (fs::path(PoolsDir()) / (storage::kStagingPrefix + name)).string();
  std::error_code ec;
  fs::remove_all(staging, ec);  // an interrupted attempt's
  if (ec) return Status::IOError("remove " + staging + ": " + ec.message());
  return staging;
}

Status PoolRegistry::Publish(const std::string& staging, const std::string& name,
                             const RequestKey& rk) {
  if (rk.marker_id().valid())
    HEAPA_RETURN_IF_ERROR(
        storage::WriteRequestMarker(staging, storage::kCreatedByMarker, rk.marker_id()));
  HEAPA_RETURN_IF_ERROR(storage::FailpointStatus("admin.before_publish"));
  std::error_code ec;
  fs::rename(staging, PoolDir(name), ec);
  if (ec) return Status::IOError("rename " + staging + ": " + ec.message());
  // Published: an error from here on does not take it back, so the outcome is unknown to the
  // client; its resend (MadeBy) syncs and opens what it finds.
  Status s = storage::PoolDir::SyncPublication(PoolsDir());
  if (s.ok()) s = OpenPublished(name);
  return s.AfterPublication("pool '" + name + "'");
}

Status PoolRegistry::OpenPublished(const std::string& name) {
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
