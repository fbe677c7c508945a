// Checkpoints: create, list, restore, fork. Serialized by admin_mu_; only Restore pauses
// operations (it replaces the store and rebuilds the index).
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "index/pool.h"
#include "storage/batch.h"
#include "storage/committer.h"
#include "storage/failpoint.h"
#include "storage/format_upgrade.h"
#include "storage/keys.h"
#include "storage/pool_dir.h"
#include "storage/records.h"
#include "storage/request_marker.h"
#include "storage/store.h"

namespace heapa {
namespace fs = std::filesystem;

Status Pool::Checkpoint(const std::string& tag, const RequestKey& rk) {
  HEAPA_RETURN_IF_ERROR(storage::PoolDir::ValidateTag(tag));
  std::lock_guard<std::mutex> admin(admin_mu_);
  const std::string path = storage::PoolDir::CheckpointPath(dir_, tag);
  const fs::path root = fs::path(path).parent_path();
  std::error_code ec;
  if (fs::exists(path, ec)) {
    HEAPA_ASSIGN_OR_RETURN(const bool mine, storage::HasRequestMarker(
                                                path, storage::kCreatedByMarker, rk.marker_id()));
    // Ours: its rename may not have reached the disk when this request was first answered.
    if (mine) {
      return storage::PoolDir::SyncDir(root.string()).AfterPublication("checkpoint '" + tag + "'");
    }
    return Status::AlreadyExists("checkpoint '" + tag + "' exists");
  }
  std::shared_ptr<storage::Store> store;  // alive (if closed meanwhile: Unavailable) for the call
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!store_) return Status::Unavailable("pool is closed");
    store = store_;
  }
  if (fs::create_directories(root, ec)) {
    HEAPA_RETURN_IF_ERROR(storage::PoolDir::SyncDir(dir_));  // the rename below needs it
  }
  if (ec) return Status::IOError("create " + root.string() + ": " + ec.message());
  // Built under a staging name (cleared of an interrupted attempt's leftovers, RocksDB's
  // ".tmp" included), marked, then renamed: the tag appears complete and marked, or not at all.
  const std::string staging = storage::PoolDir::CheckpointStagingPath(dir_, tag);
  for (const std::string& leftover : {staging, staging + ".tmp"}) {
    fs::remove_all(leftover, ec);
    if (ec) return Status::IOError("remove " + leftover + ": " + ec.message());
  }
  // Without the operation lock: RocksDB checkpoints a consistent prefix of batches while
  // samples and reports go on.
  HEAPA_RETURN_IF_ERROR(store->CreateCheckpoint(staging));
  if (rk.marker_id().valid()) {
    HEAPA_RETURN_IF_ERROR(
        storage::WriteRequestMarker(staging, storage::kCreatedByMarker, rk.marker_id()));
  }
  HEAPA_RETURN_IF_ERROR(storage::FailpointStatus("admin.before_publish"));
  fs::rename(staging, path, ec);
  if (ec) return Status::IOError("rename " + staging + ": " + ec.message());
  // Published: an error from here on does not take it back, so the outcome is unknown to the
  // client (a resend finds the marker).
  return storage::PoolDir::SyncPublication(root.string())
      .AfterPublication("checkpoint '" + tag + "'");
}

Result<std::vector<storage::CheckpointInfo>> Pool::ListCheckpoints() const {
  std::lock_guard<std::mutex> admin(admin_mu_);
  return storage::PoolDir::ListCheckpoints(dir_);
}

Status Pool::Restore(const std::string& tag, const RequestKey& rk) {
  HEAPA_RETURN_IF_ERROR(storage::PoolDir::ValidateTag(tag));
  std::lock_guard<std::mutex> admin(admin_mu_);
  // The restores that led to the live generation, the latest kMaxMarkerIds: a retry of one of
  // them is done already (and must not undo a later one); the new generation carries them on.
  std::string live;  // only a Restore, which holds admin_mu_, changes it
  bool closed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!store_ && restore_unfinished_) {
      // A Restore that failed after it closed the store: this one (its resend, typically)
      // opens the live generation, whichever it is, and goes on from there.
      const std::string what = "restore: reopening the pool";
      Result<std::string> db = storage::PoolDir::LiveDb(dir_);
      HEAPA_RETURN_IF_ERROR(db.status().AfterPublication(what));
      HEAPA_RETURN_IF_ERROR(OpenSwitched(*db).AfterPublication(what));
      restore_unfinished_ = false;
    }
    closed = !store_;  // on purpose, or after a failed write: it stays so
    if (!closed) live = store_->dir();
  }
  if (closed) {
    // Answered from the live generation's marker all the same, without opening it.
    HEAPA_ASSIGN_OR_RETURN(live, storage::PoolDir::LiveDb(dir_));
  }
  HEAPA_ASSIGN_OR_RETURN(std::vector<storage::RequestId> restores,
                         storage::ReadRequestMarker(live, storage::kRestoredByMarker));
  if (const storage::RequestId id = rk.marker_id(); id.valid()) {
    if (std::find(restores.begin(), restores.end(), id) != restores.end()) {
      // Done; its switch may not have reached the disk when it was first answered.
      return storage::PoolDir::SyncDir(dir_).AfterPublication("restore of '" + tag + "'");
    }
    restores.push_back(id);
    if (restores.size() > storage::kMaxMarkerIds) restores.erase(restores.begin());
  }
  if (closed) return Status::Unavailable("pool is closed");
  const std::string src = storage::PoolDir::CheckpointPath(dir_, tag);
  std::error_code ec;
  if (!fs::is_directory(src, ec)) return Status::NotFound("no checkpoint '" + tag + "'");
  HEAPA_ASSIGN_OR_RETURN(const std::string db, storage::PoolDir::NewGeneration(dir_));
  HEAPA_RETURN_IF_ERROR(storage::PoolDir::CloneDb(src, db));

  std::lock_guard<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  // Every queued batch reaches the old store (or fails) before it is replaced. A failure
  // does not matter: the restored pool starts from the checkpoint and is writable again.
  (void)committer_->Drain();
  const storage::StoreOptions so = StoreOptionsFor(options_);
  {
    // Lease numbers and the durable sequence never go backwards: a report from the abandoned
    // future must not match a lease granted after the restore. Written before the switch.
    HEAPA_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> restored, storage::Store::Open(db, so));
    // A checkpoint taken by an older build is upgraded like a pool at open (or refused).
    HEAPA_RETURN_IF_ERROR(storage::EnsureCurrentFormat(restored.get(), "checkpoint '" + tag + "'"));
    std::string value;
    storage::ConfigRecord config;
    HEAPA_RETURN_IF_ERROR(restored->Get(storage::MetaKey("config"), &value));
    HEAPA_RETURN_IF_ERROR(storage::DecodeConfig(value, &config).WithContext("M/config"));
    if (!(config == config_)) {
      return Status::FailedPrecondition("checkpoint '" + tag + "' has another pool's config");
    }
    HEAPA_RETURN_IF_ERROR(restored->Get(storage::MetaKey("counters"), &value));
    storage::CountersRecord counters;
    HEAPA_RETURN_IF_ERROR(storage::DecodeCounters(value, &counters).WithContext("M/counters"));
    const storage::CountersRecord& now = ix_->counters();
    // lease_floor_: above the leases of writes lost while the pool was degraded. The leases
    // from the checkpoint's next_lease up to here were granted in the future being abandoned;
    // with those of an earlier Restore, they are covered by one range (a lease granted in
    // between to another query is then answered stale, not refused: nothing is recorded).
    const uint64_t from =
        counters.abandoned_leases_to == 0 ? counters.next_lease : counters.abandoned_leases_from;
    counters.next_lease = std::max({counters.next_lease, now.next_lease, lease_floor_});
    counters.abandoned_leases_from = from;
    counters.abandoned_leases_to = counters.next_lease;
    counters.durable_seq = std::max(counters.durable_seq, now.durable_seq) + 1;
    storage::EncodeCounters(counters, &value);
    storage::Batch batch;
    batch.Put(storage::MetaKey("counters"), value);
    HEAPA_RETURN_IF_ERROR(restored->Write(&batch));
    HEAPA_RETURN_IF_ERROR(restored->Close());
  }
  if (!restores.empty()) {
    HEAPA_RETURN_IF_ERROR(storage::WriteRequestMarker(db, storage::kRestoredByMarker, restores));
  }
  HEAPA_RETURN_IF_ERROR(storage::FailpointStatus("admin.before_publish"));
  // The switch. A crash leaves either generation live, complete. Should the old generation
  // serve again, no lease this index granted may be granted twice (OpenSwitched).
  lease_floor_ = std::max(lease_floor_, ix_->counters().next_lease);
  RetireCounters(/*store=*/true);
  committer_.reset();
  (void)store_->Close();  // a flush may fail on a full disk: the WAL has it all
  store_.reset();
  Status s = storage::PoolDir::SwitchLive(dir_, db);
  const Result<std::string> now_live = storage::PoolDir::LiveDb(dir_);
  const auto names = [&](const std::string& generation) {
    return now_live.ok() && fs::path(*now_live).filename() == fs::path(generation).filename();
  };
  if (names(live)) {
    // Nothing switched (SwitchLive failed before its rename): the old generation serves again,
    // and the error is definite.
    const Status reopened = OpenSwitched(live);
    if (reopened.ok()) return s.ok() ? Status::Internal("LIVE did not move to " + db) : s;
    s = reopened;
  } else if (names(db)) {
    // Switched, whatever SwitchLive said: OpenSwitched syncs the directory again.
    s = storage::FailpointStatus("admin.after_publish");
    if (s.ok()) s = OpenSwitched(db);
    if (s.ok()) return s;
  } else if (s.ok()) {
    s = now_live.status();
  }
  // LIVE may name the new generation: an error does not say the restore did not happen. Its
  // outcome is unknown to the client, whose resend (the same request id) learns it.
  restore_unfinished_ = true;
  ix_.reset();  // closed: nothing is served from an index without its store
  stats_ = index::StatsTable();
  return s.AfterPublication("restore of '" + tag + "' (the pool is closed until it is resent)");
}

Status Pool::OpenSwitched(const std::string& db) {
  HEAPA_RETURN_IF_ERROR(storage::PoolDir::SyncDir(dir_));
  (void)storage::PoolDir::RemoveStale(dir_);  // what stays goes at the next restore or open
  HEAPA_ASSIGN_OR_RETURN(store_, storage::Store::Open(db, StoreOptionsFor(options_)));
  degraded_ = Status::OK();
  Status rebuilt = Rebuild();
  if (!rebuilt.ok()) {
    (void)store_->Close();  // the rebuild error is the one to report
    store_.reset();
    committer_.reset();
    ix_.reset();
    stats_ = index::StatsTable();
    return rebuilt;
  }
  if (ix_->counters().next_lease < lease_floor_) {
    // The old generation again, behind leases granted since: read-only until the resume's
    // probe write (CheckWritable, at the next mutation) stores next_lease above them.
    degraded_ = Status::Unavailable("reopened after a failed restore");
    next_resume_ = std::chrono::steady_clock::now();
  }
  return Status::OK();
}

Status Pool::Fork(const std::string& new_dir, const std::optional<std::string>& tag) const {
  if (tag) HEAPA_RETURN_IF_ERROR(storage::PoolDir::ValidateTag(*tag));
  std::lock_guard<std::mutex> admin(admin_mu_);
  if (storage::PoolDir::LiveDb(new_dir).ok()) {
    return Status::AlreadyExists("a pool already exists in " + new_dir);
  }
  std::string src;
  if (tag) {
    src = storage::PoolDir::CheckpointPath(dir_, *tag);
    std::error_code ec;
    if (!fs::is_directory(src, ec)) return Status::NotFound("no checkpoint '" + *tag + "'");
  }
  HEAPA_ASSIGN_OR_RETURN(const std::string db, storage::PoolDir::Create(new_dir));
  if (tag) {
    HEAPA_RETURN_IF_ERROR(storage::PoolDir::CloneDb(src, db));
  } else {
    std::shared_ptr<storage::Store> store;  // as in Checkpoint
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!store_) return Status::Unavailable("pool is closed");
      store = store_;
    }
    HEAPA_RETURN_IF_ERROR(store->CreateCheckpoint(db));
  }
  return storage::PoolDir::SwitchLive(new_dir, db);
}

}  // namespace heapa
