// The envelope of every stored value (kind | payload | XXH3-64) and the helpers that read
// FlatBuffer payloads safely. Private to storage/: only records*.cc include it.
#ifndef HEAPA_STORAGE_RECORD_ENVELOPE_H_
#define HEAPA_STORAGE_RECORD_ENVELOPE_H_

#include <flatbuffers/flatbuffers.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace heapa::storage::envelope {

// Envelope kinds. One byte in front of every value; never reuse a retired kind.
enum class Kind : char {
  kQuery = 'q',
  kState = 's',
  kStats = 't',        // a FlatBuffer; written up to format 3, still read
  kStatsPacked = 'u',  // varints and fixed doubles, from format 4 (stats_record.cc)
  kConfig = 'c',
  kCounters = 'n',
  kFormat = 'f',
  kDedup = 'h',
  kEdge = 'e',
  kOpResult = 'r',
  kStateChunk = 'k',
  kStateJournal = 'j',
  kStatsChunk = 'v',    // from format 5 (stats_record.cc)
  kStatsJournal = 'w',  // likewise
};

constexpr size_t kChecksumBytes = 8;

inline void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Ends a value written in place as kind | payload: appends the XXH3-64 of both.
inline void AppendChecksum(std::string* out) {
  PutFixed64(out, XXH3_64bits(out->data(), out->size()));
}

inline void Seal(Kind kind, const void* payload, size_t size, std::string* out) {
  out->clear();
  out->reserve(1 + size + kChecksumBytes);
  out->push_back(static_cast<char>(kind));
  out->append(static_cast<const char*>(payload), size);
  AppendChecksum(out);
}

inline void SealBuilder(Kind kind, const flatbuffers::FlatBufferBuilder& fbb, std::string* out) {
  Seal(kind, fbb.GetBufferPointer(), fbb.GetSize(), out);
}

// Checks size, checksum and kind; on success `*payload` is the bytes between them.
inline Status Open(Kind kind, std::string_view value, std::string_view* payload) {
  if (value.size() < 1 + kChecksumBytes) {
    return Status::Corruption("record of " + std::to_string(value.size()) + " bytes is too short");
  }
  const size_t body = value.size() - kChecksumBytes;
  const uint64_t stored = GetFixed64(value.data() + body);
  if (XXH3_64bits(value.data(), body) != stored) return Status::Corruption("checksum mismatch");
  if (value[0] != static_cast<char>(kind)) {
    return Status::Corruption(std::string("record kind '") + value[0] + "' where '" +
                              static_cast<char>(kind) + "' was expected");
  }
  *payload = value.substr(1, body - 1);
  return Status::OK();
}

// Record payloads sit at odd offsets inside RocksDB blocks; FlatBuffers requires aligned
// access, so the payload is copied into 8-byte-aligned scratch memory before verification.
class AlignedPayload {
 public:
  const uint8_t* Assign(std::string_view payload) {
    uint64_t* dst = inline_;
    if (payload.size() > sizeof(inline_)) {
      heap_.resize(payload.size() / 8 + 1);
      dst = heap_.data();
    }
    std::memcpy(dst, payload.data(), payload.size());
    return reinterpret_cast<const uint8_t*>(dst);
  }

 private:
  uint64_t inline_[32];  // state, stats and meta records fit here: no allocation on rebuild
  std::vector<uint64_t> heap_;
};

template <typename T>
Status OpenTable(Kind kind, std::string_view value, AlignedPayload* scratch, const T** table) {
  std::string_view payload;
  Status s = Open(kind, value, &payload);
  if (!s.ok()) return s;
  const uint8_t* data = scratch->Assign(payload);
  flatbuffers::Verifier verifier(data, payload.size(), /*_max_depth=*/16, /*_max_tables=*/1u << 20);
  if (!verifier.VerifyBuffer<T>(nullptr))
    return Status::Corruption("FlatBuffer verification failed");
  *table = flatbuffers::GetRoot<T>(data);
  return Status::OK();
}

// The Verifier checks only the 4-byte alignment of a vector's length, so a crafted record can
// place 8-byte elements (scalars or structs) misaligned: callers treat false as Corruption (our
// encoder never does it), never reading them in place. An empty vector may sit anywhere.
template <typename Vec>
bool ElementsAligned(const Vec* vec, size_t alignment) {
  return vec == nullptr || vec->size() == 0 ||
         reinterpret_cast<uintptr_t>(vec->Data()) % alignment == 0;
}

// Copies a FlatBuffers vector of scalars; false when its elements are misaligned.
template <typename T>
bool CopyVector(const flatbuffers::Vector<T>* vec, std::vector<T>* out) {
  out->clear();
  if (!ElementsAligned(vec, alignof(T))) return false;
  if (vec != nullptr) out->assign(vec->begin(), vec->end());
  return true;
}

inline std::string_view View(const flatbuffers::String* s) {
  return s ? std::string_view(s->c_str(), s->size()) : std::string_view();
}

inline bool Finite(double v) { return std::isfinite(v); }

}  // namespace heapa::storage::envelope

namespace heapa::storage {
// The record codecs (records.cc, small_records.cc) use the helpers unqualified.
using envelope::AlignedPayload;
using envelope::CopyVector;
using envelope::ElementsAligned;
using envelope::Finite;
using envelope::GetFixed64;
using envelope::Kind;
using envelope::Open;
using envelope::OpenTable;
using envelope::Seal;
using envelope::SealBuilder;
using envelope::View;
}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_RECORD_ENVELOPE_H_
