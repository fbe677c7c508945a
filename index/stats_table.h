// Every query's running statistics, held in memory in their stored encoding.
//
// A Report of 512 queries read 512 'T' records at random before applying them: 0.45 ms on a
// fresh 1M pool, 1.7 ms on an aged one, and a read-ahead thread that hid it only when the
// trainer paused between Sample and Report. The pool now loads every record when it rebuilds
// its index and keeps it here, next to the index; writers update it with the batch that
// stores the record.
//
// A record is kept as the bytes EncodeStats wrote (about 70 for a query reported once), in
// one allocation per id with statistics: on a 1M pool, 8 bytes per id plus the records.
// Reads decode (and so verify) the bytes again, 0.1-0.2 us each.
//
// Thread safety: none; the pool guards it with its mutex.
#ifndef HEAPA_INDEX_STATS_TABLE_H_
#define HEAPA_INDEX_STATS_TABLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/records.h"
#include "storage/status.h"

namespace heapa::index {

class StatsTable {
 public:
  StatsTable() = default;
  StatsTable(StatsTable&&) = default;
  StatsTable& operator=(StatsTable&&) = default;

  // Stores the encoded record of `id` (> 0), replacing any: `encoded` must decode (the pool
  // passes what EncodeStats wrote, or a stored value DecodeStats accepted).
  void Set(uint64_t id, std::string_view encoded);

  // The statistics of `id`: zeros when it has none. Corruption only if memory was damaged
  // (the bytes were verified when set).
  Status Get(uint64_t id, storage::StatsRecord* out) const;

  // The encoded record of `id`; empty when it has none.
  std::string_view Encoded(uint64_t id) const;

  // Ids with statistics, and the bytes held for them (records and the table; not counting
  // malloc's own overhead, about 8-16 bytes per id with statistics).
  uint64_t size() const { return size_; }
  uint64_t bytes() const;

 private:
  // By id; null for an id without statistics. Each holds a 2-byte little-endian length, then
  // the record.
  std::vector<std::unique_ptr<char[]>> by_id_;
  uint64_t size_ = 0;
  uint64_t record_bytes_ = 0;
};

// Statistics records of several ids, one after the other in one buffer (no allocation per
// record): what a mutation staged, what a rebuild read, what Digest copied.
class StatsList {
 public:
  void Add(uint64_t id, std::string_view encoded) {
    bytes_ += encoded;
    ends_.emplace_back(id, bytes_.size());
  }
  size_t size() const { return ends_.size(); }
  uint64_t id(size_t i) const { return ends_[i].first; }
  std::string_view record(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1].second;
    return std::string_view(bytes_).substr(begin, ends_[i].second - begin);
  }
  void Clear() {
    ends_.clear();
    bytes_.clear();
  }

 private:
  std::vector<std::pair<uint64_t, size_t>> ends_;  // (id, where its record ends in bytes_)
  std::string bytes_;
};

}  // namespace heapa::index

#endif  // HEAPA_INDEX_STATS_TABLE_H_
