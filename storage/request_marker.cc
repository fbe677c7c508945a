#include "storage/request_marker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "storage/pool_dir.h"

namespace heapa::storage {
namespace {

// "client " + 20 digits + " request " + 20 digits + "\n", with room to spare.
constexpr size_t kMaxMarkerBytes = 64;

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

std::optional<RequestId> ParseRequestMarker(std::string_view bytes) {
  RequestId id;
  if (bytes.size() > kMaxMarkerBytes || !TakeLiteral(&bytes, "client ") ||
      !TakeNumber(&bytes, &id.client) || !TakeLiteral(&bytes, " request ") ||
      !TakeNumber(&bytes, &id.request) || bytes != "\n") {
    return std::nullopt;
  }
  return id;
}

std::string FormatRequestMarker(RequestId id) {
  return "client " + std::to_string(id.client) + " request " + std::to_string(id.request) + "\n";
}

Status WriteRequestMarker(const std::string& dir, const char* marker, RequestId id) {
  if (!id.valid()) return Status::InvalidArgument("an anonymous request has no marker");
  const std::string path = (std::filesystem::path(dir) / marker).string();
  const std::string text = FormatRequestMarker(id);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("create " + path + ": " + std::strerror(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = written && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!synced) return Status::IOError("write " + path + ": " + std::strerror(err));
  return PoolDir::SyncDir(dir);
}

bool HasRequestMarker(const std::string& dir, const char* marker, RequestId id) {
  if (!id.valid()) return false;
  std::ifstream in(std::filesystem::path(dir) / marker, std::ios::binary);
  if (!in) return false;
  char buf[kMaxMarkerBytes + 1];
  in.read(buf, sizeof(buf));
  const std::optional<RequestId> found =
      ParseRequestMarker(std::string_view(buf, static_cast<size_t>(in.gcount())));
  return found.has_value() && *found == id;
}

}  // namespace heapa::storage
