#include "storage/digest.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t
#include <xxhash.h>

#include <cstdio>

namespace heapa::storage {

struct DigestBuilder::State {
  XXH3_state_t xxh;
};

DigestBuilder::DigestBuilder() : state_(std::make_unique<State>()) {
  XXH3_128bits_reset(&state_->xxh);
}

DigestBuilder::~DigestBuilder() = default;

void DigestBuilder::AddU64(uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  XXH3_128bits_update(&state_->xxh, buf, sizeof(buf));
}

void DigestBuilder::Add(std::string_view bytes) {
  AddU64(bytes.size());
  XXH3_128bits_update(&state_->xxh, bytes.data(), bytes.size());
}

Hash128 DigestBuilder::Finish() const {
  const XXH128_hash_t h = XXH3_128bits_digest(&state_->xxh);
  return Hash128{h.high64, h.low64};
}

std::string HashToHex(const Hash128& h) {
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(h.high),
                static_cast<unsigned long long>(h.low));
  return buf;
}

}  // namespace heapa::storage
