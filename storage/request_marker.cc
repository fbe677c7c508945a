#include "storage/request_marker.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "storage/pool_dir.h"

namespace heapa::storage {
namespace {

// "client " + 20 digits + " request " + 20 digits + "\n" is 57 bytes.
constexpr size_t kMaxLineBytes = 64;
constexpr size_t kMaxMarkerBytes = kMaxMarkerIds * kMaxLineBytes;

// Parses a nonzero decimal u64 without sign or leading zeros at the front of `*in`.
bool TakeNumber(std::string_view* in, uint64_t* out) {
  if (in->empty() || (*in)[0] < '1' || (*in)[0] > '9') return false;
  const auto [end, ec] = std::from_chars(in->data(), in->data() + in->size(), *out);
  if (ec != std::errc()) return false;
  in->remove_prefix(static_cast<size_t>(end - in->data()));
  return true;
}

bool TakeLiteral(std::string_view* in, std::string_view literal) {
  if (in->substr(0, literal.size()) != literal) return false;
  in->remove_prefix(literal.size());
  return true;
}

}  // namespace

std::string FormatRequestMarker(std::span<const RequestId> ids) {
  std::string out;
  for (const RequestId& id : ids) {
    out += "client " + std::to_string(id.client) + " request " + std::to_string(id.request) + "\n";
  }
  return out;
}

std::optional<std::vector<RequestId>> ParseRequestMarker(std::string_view bytes) {
  if (bytes.empty() || bytes.size() > kMaxMarkerBytes) return std::nullopt;
  std::vector<RequestId> ids;
  while (!bytes.empty()) {
    RequestId id;
    if (ids.size() == kMaxMarkerIds || !TakeLiteral(&bytes, "client ") ||
        !TakeNumber(&bytes, &id.client) || !TakeLiteral(&bytes, " request ") ||
        !TakeNumber(&bytes, &id.request) || !TakeLiteral(&bytes, "\n")) {
      return std::nullopt;
    }
    ids.push_back(id);
  }
  return ids;
}

Status WriteRequestMarker(const std::string& dir, const char* marker,
                          std::span<const RequestId> ids) {
  if (ids.empty() || ids.size() > kMaxMarkerIds) {
    return Status::InvalidArgument("a request marker names 1.." + std::to_string(kMaxMarkerIds) +
                                   " requests, not " + std::to_string(ids.size()));
  }
  for (const RequestId& id : ids) {
    if (!id.valid()) return Status::InvalidArgument("an anonymous request has no marker");
  }
  const std::string path = (std::filesystem::path(dir) / marker).string();
  const std::string text = FormatRequestMarker(ids);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("create " + path + ": " + std::strerror(errno));
  const ssize_t n = ::write(fd, text.data(), text.size());
  std::string error;
  if (n < 0) {
    error = std::strerror(errno);
  } else if (static_cast<size_t>(n) != text.size()) {
    error = "short write";
  } else if (::fsync(fd) != 0) {
    error = std::string("fsync: ") + std::strerror(errno);
  }
  ::close(fd);
  if (!error.empty()) return Status::IOError("write " + path + ": " + error);
  return PoolDir::SyncDir(dir);
}

Status WriteRequestMarker(const std::string& dir, const char* marker, RequestId id) {
  return WriteRequestMarker(dir, marker, std::span<const RequestId>(&id, 1));
}

Result<std::vector<RequestId>> ReadRequestMarker(const std::string& dir, const char* marker) {
  const std::filesystem::path path = std::filesystem::path(dir) / marker;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec) return Status::IOError("stat " + path.string() + ": " + ec.message());
    return std::vector<RequestId>();
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    if (ec) return Status::IOError("stat " + path.string() + ": " + ec.message());
    return Status::Corruption(path.string() + " is not a request marker (not a file)");
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(kMaxMarkerBytes + 1, '\0');
  if (in) in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in && !in.eof()) return Status::IOError("cannot read " + path.string());
  bytes.resize(static_cast<size_t>(in.gcount()));
  std::optional<std::vector<RequestId>> ids = ParseRequestMarker(bytes);
  if (!ids) return Status::Corruption(path.string() + " is not a request marker");
  return std::move(*ids);
}

Result<bool> HasRequestMarker(const std::string& dir, const char* marker, RequestId id) {
  if (!id.valid()) return false;
  HEAPA_ASSIGN_OR_RETURN(const std::vector<RequestId> ids, ReadRequestMarker(dir, marker));
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace heapa::storage
