// Request markers: which admin requests made, restored or dropped a directory, so that a retry
// of such a request is answered as the first attempt was, without acting twice (exactly once
// for PoolCreate, Fork, Checkpoint, Restore and PoolDrop; pool operations store their results
// in the pool instead, index/pool.h).
//
// A marker is a small file of lines "client <u64> request <u64>\n", written and fsync'ed
// inside a directory before the rename or LIVE switch that publishes the directory: a crash
// before the publication leaves the effect undone (and any marker unpublished with it), one
// after it leaves both. What each marker remembers:
//   - CREATED-BY: the request that made a pool (create, fork) or a checkpoint; a dropped pool
//     keeps it (until the name's next drop), so a late retry of its create does not make the
//     pool again;
//   - RESTORED-BY, in a restored database generation: the restores of the pool, the last
//     kMaxMarkerIds (each restore carries the earlier ones over), so a late retry of a restore
//     never undoes a later one;
//   - DROPPED-BY: the request that last dropped a pool name.
//
// Thread safety: stateless functions; callers serialize operations on one directory.
#ifndef HEAPA_STORAGE_REQUEST_MARKER_H_
#define HEAPA_STORAGE_REQUEST_MARKER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/result.h"
#include "storage/status.h"

namespace heapa::storage {

inline constexpr char kCreatedByMarker[] = "CREATED-BY";
inline constexpr char kRestoredByMarker[] = "RESTORED-BY";
inline constexpr char kDroppedByMarker[] = "DROPPED-BY";

// The most ids a marker holds.
inline constexpr size_t kMaxMarkerIds = 64;

struct RequestId {
  uint64_t client = 0;
  uint64_t request = 0;
  // Anonymous requests (either part 0) are never marked and never match.
  bool valid() const { return client != 0 && request != 0; }
  friend bool operator==(const RequestId&, const RequestId&) = default;
};

// Writes <dir>/<marker> naming `ids` (1..kMaxMarkerIds, all valid), replacing any earlier one,
// then fsyncs the file and `dir`. InvalidArgument for other ids.
Status WriteRequestMarker(const std::string& dir, const char* marker,
                          std::span<const RequestId> ids);

// The same for one id.
Status WriteRequestMarker(const std::string& dir, const char* marker, RequestId id);

// The ids <dir>/<marker> names, oldest first; empty when there is no such file. IOError when
// it cannot be read; Corruption when it is not a marker.
Result<std::vector<RequestId>> ReadRequestMarker(const std::string& dir, const char* marker);

// Whether <dir>/<marker> names `id`; false for an anonymous id, without reading. Errors as
// ReadRequestMarker.
Result<bool> HasRequestMarker(const std::string& dir, const char* marker, RequestId id);

// A marker's bytes: one line "client C request R\n" per id.
std::string FormatRequestMarker(std::span<const RequestId> ids);

// The ids a marker's bytes name; nullopt unless they are exactly 1..kMaxMarkerIds lines
// "client C request R\n", C and R decimal, nonzero and without leading zeros.
std::optional<std::vector<RequestId>> ParseRequestMarker(std::string_view bytes);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_REQUEST_MARKER_H_
