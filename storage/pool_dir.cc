#include "storage/pool_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "storage/failpoint.h"
#include "storage/request_marker.h"

namespace heapa::storage {
namespace fs = std::filesystem;
namespace {

constexpr char kLive[] = "LIVE";
constexpr char kGenerationPrefix[] = "db-";

Status FsError(const std::string& what, const std::error_code& ec) {
  return Status::IOError(what + ": " + ec.message());
}

Status SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::IOError("open " + path + " for fsync failed");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync " + path + " failed");
  return Status::OK();
}

Result<std::string> ReadLive(const std::string& dir) {
  std::ifstream in(fs::path(dir) / kLive);
  if (!in) return Status::NotFound("no pool in " + dir + " (no LIVE file)");
  std::string name;
  std::getline(in, name);
  if (name.rfind(kGenerationPrefix, 0) != 0 || name.find('/') != std::string::npos) {
    return Status::Corruption(dir + "/LIVE names '" + name + "', not a database generation");
  }
  return name;
}

// The number of a generation directory "db-NNNNNN"; 0 for any other name.
uint64_t GenerationNumber(const std::string& name) {
  if (name.rfind(kGenerationPrefix, 0) != 0) return 0;
  const char* first = name.data() + sizeof(kGenerationPrefix) - 1;
  const char* last = name.data() + name.size();
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(first, last, n);
  return ec == std::errc() && end == last ? n : 0;
}

}  // namespace

Status PoolDir::SyncDir(const std::string& dir) { return SyncPath(dir, O_RDONLY | O_DIRECTORY); }

Status PoolDir::SyncPublication(const std::string& parent) {
  HEAPA_RETURN_IF_ERROR(SyncDir(parent));
  return FailpointStatus("admin.after_publish");
}

Result<std::string> PoolDir::LiveDb(const std::string& dir) {
  HEAPA_ASSIGN_OR_RETURN(const std::string name, ReadLive(dir));
  const std::string path = (fs::path(dir) / name).string();
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return Status::Corruption(dir + "/LIVE names " + name + ", which does not exist");
  }
  return path;
}

Result<std::string> PoolDir::Create(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / kLive, ec)) {
    return Status::AlreadyExists("a pool already exists in " + dir);
  }
  fs::create_directories(dir, ec);
  if (ec) return FsError("create " + dir, ec);
  return NewGeneration(dir);
}

Result<std::string> PoolDir::NewGeneration(const std::string& dir) {
  uint64_t highest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    highest = std::max(highest, GenerationNumber(entry.path().filename().string()));
  }
  if (ec) return FsError("list " + dir, ec);
  char name[32];
  std::snprintf(name, sizeof(name), "%s%06llu", kGenerationPrefix,
                static_cast<unsigned long long>(highest + 1));
  return (fs::path(dir) / name).string();
}

Status PoolDir::SwitchLive(const std::string& dir, const std::string& db_path) {
  const std::string name = fs::path(db_path).filename().string();
  const std::string tmp = (fs::path(dir) / "LIVE.tmp").string();
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << name << "\n";
    out.flush();
    if (!out) return Status::IOError("write " + tmp + " failed");
  }
  HEAPA_RETURN_IF_ERROR(SyncPath(tmp, O_RDONLY));
  HEAPA_RETURN_IF_ERROR(FailpointStatus("live.before_rename"));
  std::error_code ec;
  fs::rename(tmp, fs::path(dir) / kLive, ec);
  if (ec) return FsError("rename " + tmp, ec);
  return SyncDir(dir);
}

Status PoolDir::RemoveStale(const std::string& dir) {
  HEAPA_ASSIGN_OR_RETURN(const std::string live, ReadLive(dir));
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if ((GenerationNumber(name) > 0 && name != live) || name == "LIVE.tmp") {
      stale.push_back(entry.path());
    }
  }
  if (ec) return FsError("list " + dir, ec);
  const fs::path checkpoints = fs::path(dir) / "checkpoints";
  if (fs::is_directory(checkpoints, ec)) {
    for (const auto& entry : fs::directory_iterator(checkpoints, ec)) {
      if (entry.path().filename().string().rfind(kStagingPrefix, 0) == 0) {
        stale.push_back(entry.path());
      }
    }
    if (ec) return FsError("list " + checkpoints.string(), ec);
  }
  for (const fs::path& p : stale) {
    fs::remove_all(p, ec);
    if (ec) return FsError("remove " + p.string(), ec);
  }
  return Status::OK();
}

Status PoolDir::ValidateTag(const std::string& tag) {
  // ".tmp" is RocksDB's staging suffix for a checkpoint being built: a tag "x.tmp" would be
  // wiped by a later Checkpoint("x").
  const bool staging = tag.size() >= 4 && tag.compare(tag.size() - 4, 4, ".tmp") == 0;
  const bool ok =
      !tag.empty() && tag.size() <= 64 && tag[0] != '.' && !staging &&
      std::all_of(tag.begin(), tag.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      });
  if (!ok) {
    return Status::InvalidArgument("checkpoint tag '" + tag +
                                   "' must be 1-64 characters of [A-Za-z0-9._-], not starting "
                                   "with '.' and not ending in '.tmp'");
  }
  return Status::OK();
}

std::string PoolDir::CheckpointPath(const std::string& dir, const std::string& tag) {
  return (fs::path(dir) / "checkpoints" / tag).string();
}

std::string PoolDir::CheckpointStagingPath(const std::string& dir, const std::string& tag) {
  return (fs::path(dir) / "checkpoints" / (kStagingPrefix + tag)).string();
}

Result<std::vector<CheckpointInfo>> PoolDir::ListCheckpoints(const std::string& dir) {
  std::vector<CheckpointInfo> out;
  const fs::path root = fs::path(dir) / "checkpoints";
  std::error_code ec;
  if (!fs::exists(root, ec)) return out;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (!entry.is_directory()) continue;
    const std::string tag = entry.path().filename().string();
    if (!ValidateTag(tag).ok()) continue;  // RocksDB's own ".tmp" leftovers
    CheckpointInfo info;
    info.tag = tag;
    const auto mtime = fs::last_write_time(entry.path(), ec);
    info.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                          .count();
    for (const auto& f : fs::directory_iterator(entry.path(), ec)) {
      if (f.is_regular_file()) info.bytes += f.file_size();
    }
    out.push_back(std::move(info));
  }
  if (ec) return FsError("list " + root.string(), ec);
  std::sort(out.begin(), out.end(),
            [](const CheckpointInfo& a, const CheckpointInfo& b) { return a.tag < b.tag; });
  return out;
}

Status PoolDir::CloneDb(const std::string& src, const std::string& dst) {
  std::error_code ec;
  fs::create_directories(dst, ec);
  if (ec) return FsError("create " + dst, ec);
  for (const auto& entry : fs::directory_iterator(src, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (name == kCreatedByMarker || name == kRestoredByMarker) continue;
    const fs::path to = fs::path(dst) / entry.path().filename();
    if (entry.path().extension() == ".sst") {
      fs::create_hard_link(entry.path(), to, ec);
      if (ec) {  // another file system (EXDEV) or no links: copy instead
        ec.clear();
        fs::copy_file(entry.path(), to, fs::copy_options::overwrite_existing, ec);
        if (!ec) HEAPA_RETURN_IF_ERROR(SyncPath(to.string(), O_RDONLY));
      }
    } else {
      fs::copy_file(entry.path(), to, fs::copy_options::overwrite_existing, ec);
      if (!ec) HEAPA_RETURN_IF_ERROR(SyncPath(to.string(), O_RDONLY));
    }
    if (ec) return FsError("clone " + entry.path().string(), ec);
  }
  if (ec) return FsError("list " + src, ec);
  return SyncDir(dst);
}

}  // namespace heapa::storage
