#include "index/stats_table.h"

#include <cstring>

#include "storage/check.h"

namespace heapa::index {
namespace {

constexpr size_t kLengthBytes = 2;

size_t LengthOf(const char* held) {
  return static_cast<unsigned char>(held[0]) |
         (static_cast<size_t>(static_cast<unsigned char>(held[1])) << 8);
}

}  // namespace

void StatsTable::Set(uint64_t id, std::string_view encoded) {
  HEAPA_CHECK(id > 0 && encoded.size() > 0 && encoded.size() <= 0xffff);
  if (id >= by_id_.size()) by_id_.resize(id + 1);  // the vector grows its capacity geometrically
  std::unique_ptr<char[]>& slot = by_id_[id];
  if (slot) {
    record_bytes_ -= LengthOf(slot.get());
  } else {
    ++size_;
  }
  if (!slot || LengthOf(slot.get()) != encoded.size()) {
    slot = std::make_unique_for_overwrite<char[]>(kLengthBytes + encoded.size());
  }
  slot[0] = static_cast<char>(encoded.size() & 0xff);
  slot[1] = static_cast<char>(encoded.size() >> 8);
  std::memcpy(slot.get() + kLengthBytes, encoded.data(), encoded.size());
  record_bytes_ += encoded.size();
}

std::string_view StatsTable::Encoded(uint64_t id) const {
  if (id >= by_id_.size() || !by_id_[id]) return {};
  const char* held = by_id_[id].get();
  return std::string_view(held + kLengthBytes, LengthOf(held));
}

Status StatsTable::Get(uint64_t id, storage::StatsRecord* out) const {
  const std::string_view encoded = Encoded(id);
  if (encoded.empty()) {
    *out = storage::StatsRecord();
    return Status::OK();
  }
  return storage::DecodeStats(encoded, out);
}

uint64_t StatsTable::bytes() const {
  return by_id_.capacity() * sizeof(by_id_[0]) + size_ * kLengthBytes + record_bytes_;
}

}  // namespace heapa::index
