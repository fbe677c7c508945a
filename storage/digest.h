// storage::DigestBuilder: a streaming XXH3-128, so that layers above can hash canonical state
// without seeing xxHash.
//
// Thread safety: one builder per thread.
#ifndef HEAPA_STORAGE_DIGEST_H_
#define HEAPA_STORAGE_DIGEST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "storage/keys.h"

namespace heapa::storage {

class DigestBuilder {
 public:
  DigestBuilder();
  ~DigestBuilder();
  DigestBuilder(const DigestBuilder&) = delete;
  DigestBuilder& operator=(const DigestBuilder&) = delete;

  // Adds `bytes` preceded by its length, so that field boundaries are part of the hash.
  void Add(std::string_view bytes);
  void AddU64(uint64_t v);
  Hash128 Finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// "0123...ef": 32 lowercase hex digits, high half first.
std::string HashToHex(const Hash128& h);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_DIGEST_H_
