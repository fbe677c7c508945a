// Request markers: which admin request made, restored or dropped a directory, so that a retry
// of that request is answered as the first attempt was, without acting twice (exactly once for
// PoolCreate, Fork, Checkpoint, Restore and PoolDrop; pool operations store their results in
// the pool instead, index/pool.h).
//
// A marker is a small file, "client <u64> request <u64>\n", written and fsync'ed inside a
// directory before the rename or LIVE switch that publishes it. The marker therefore exists
// exactly when the effect does: a crash before the publication leaves neither, one after it
// both. Only the latest request is remembered per directory (a pool's last restore, a name's
// last drop).
//
// Thread safety: stateless functions; callers serialize operations on one directory.
#ifndef HEAPA_STORAGE_REQUEST_MARKER_H_
#define HEAPA_STORAGE_REQUEST_MARKER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/status.h"

namespace heapa::storage {

// The request that made a pool directory (create, fork) or a checkpoint.
inline constexpr char kCreatedByMarker[] = "CREATED-BY";
// The request whose restore made a database generation (inside the generation's directory).
inline constexpr char kRestoredByMarker[] = "RESTORED-BY";
// The request that dropped a pool (inside the dropped pool's directory).
inline constexpr char kDroppedByMarker[] = "DROPPED-BY";

struct RequestId {
  uint64_t client = 0;
  uint64_t request = 0;
  // Anonymous requests (either part 0) are never marked and never match.
  bool valid() const { return client != 0 && request != 0; }
  friend bool operator==(const RequestId&, const RequestId&) = default;
};

// Writes <dir>/<marker> naming `id`, replacing any earlier one, then fsyncs the file and `dir`.
// InvalidArgument for an anonymous id.
Status WriteRequestMarker(const std::string& dir, const char* marker, RequestId id);

// True when <dir>/<marker> names exactly `id` (valid). A missing, oversize or malformed marker
// matches nothing.
bool HasRequestMarker(const std::string& dir, const char* marker, RequestId id);

// A marker's bytes: "client C request R\n".
std::string FormatRequestMarker(RequestId id);

// The id a marker's bytes name; nullopt unless they are exactly "client C request R\n" with
// C and R decimal, nonzero and without leading zeros.
std::optional<RequestId> ParseRequestMarker(std::string_view bytes);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_REQUEST_MARKER_H_
