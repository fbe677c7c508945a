// fuzz_records: the on-disk record decoders of storage/records.h, every Decode* (reliability-plan
// §4.4 C3), and the request markers' parser (storage/request_marker.h). A stored value must
// decode to Corruption or to a record, never crash.
//
// Input: byte 0 picks the decoder (low nibble, modulo the 12 decoders) and the mode (bit 7 set:
// the rest is the whole stored value, checksum included, as read from disk; clear: the rest is
// kind | payload and a valid XXH3-64 is appended, so that the mutations reach the FlatBuffers
// Verifier and the semantic checks behind the checksum). The same bytes then go through every
// other decoder too.
//
// Oracle: a value that decodes is re-encoded, and the encoding must decode to an equal record
// (Decode . Encode . Decode == Decode): what the decoder accepts, the pool can write back. A
// marker that parses must be exactly the bytes its writer makes of the id.
#include <xxhash.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/records.h"
#include "storage/request_marker.h"
#include "tests/fuzz/fuzz_util.h"

namespace heapa::fuzz {
namespace {

using namespace heapa::storage;

template <typename Rec>
using Decoder = Status (*)(std::string_view, Rec*);
template <typename Rec>
using Encoder = void (*)(const Rec&, std::string*);

template <typename Rec>
void RoundTrip(const char* name, Decoder<Rec> decode, Encoder<Rec> encode, std::string_view value) {
  Rec rec{};
  if (!decode(value, &rec).ok()) return;
  std::string again;
  encode(rec, &again);
  Rec back{};
  const Status s = decode(again, &back);
  HEAPA_FUZZ_CHECK(s.ok(),
                   std::string(name) + ": re-encoded record does not decode: " + s.ToString());
  HEAPA_FUZZ_CHECK(back == rec, std::string(name) + ": re-encoded record decodes differently");
}

// Adapters for the decoders of plain values.
void EncodeFormatRef(const uint32_t& v, std::string* out) { EncodeFormat(v, out); }
void EncodeDedupRef(const uint64_t& v, std::string* out) { EncodeDedup(v, out); }

constexpr unsigned kDecoders = 14;

void DecodeWith(unsigned which, std::string_view value) {
  switch (which % kDecoders) {
    case 0:
      return RoundTrip<QueryRecord>("query", DecodeQuery, EncodeQuery, value);
    case 1:
      return RoundTrip<StateRecord>("state", DecodeState, EncodeState, value);
    case 2:
      return RoundTrip<StatsRecord>("stats", DecodeStats, EncodeStats, value);
    case 3:
      return RoundTrip<ConfigRecord>("config", DecodeConfig, EncodeConfig, value);
    case 4:
      return RoundTrip<CountersRecord>("counters", DecodeCounters, EncodeCounters, value);
    case 5:
      return RoundTrip<uint32_t>("format", DecodeFormat, EncodeFormatRef, value);
    case 6:
      return RoundTrip<OpResultRecord>("op result", DecodeOpResult, EncodeOpResult, value);
    case 7:
      return RoundTrip<uint64_t>("dedup", DecodeDedup, EncodeDedupRef, value);
    case 9:
      return RoundTrip<StateChunkRecord>("state chunk", DecodeStateChunk, EncodeStateChunk, value);
    case 10:
      return RoundTrip<StateJournalRecord>("state journal", DecodeStateJournal, EncodeStateJournal,
                                           value);
    case 12:
      return RoundTrip<StatsChunkRecord>("stats chunk", DecodeStatsChunk, EncodeStatsChunk, value);
    case 13:
      return RoundTrip<StatsJournalRecord>("stats journal", DecodeStatsJournal, EncodeStatsJournal,
                                           value);
    case 11: {
      const std::optional<std::vector<RequestId>> ids = ParseRequestMarker(value);
      if (!ids) return;
      HEAPA_FUZZ_CHECK(!ids->empty() && ids->size() <= kMaxMarkerIds,
                       std::to_string(ids->size()) + " ids in a marker");
      for (const RequestId& id : *ids) {
        HEAPA_FUZZ_CHECK(id.valid(), "a marker parsed to an anonymous id");
      }
      HEAPA_FUZZ_CHECK(FormatRequestMarker(*ids) == value, "a marker parsed from other bytes");
      return;
    }
    default: {
      // An edge's difficulty must be finite and positive; compare bits, not with ==.
      double d = 0;
      if (!DecodeEdge(value, &d).ok()) return;
      HEAPA_FUZZ_CHECK(std::isfinite(d) && d > 0, "edge difficulty " + std::to_string(d));
      std::string again;
      EncodeEdge(d, &again);
      double back = 0;
      HEAPA_FUZZ_CHECK(DecodeEdge(again, &back).ok() && std::memcmp(&back, &d, sizeof(d)) == 0,
                       "edge does not round-trip");
      return;
    }
  }
}

}  // namespace
}  // namespace heapa::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace heapa::fuzz;
  Bytes in(data, size);
  const uint8_t mode = in.U8();
  const std::string_view rest = in.Rest();
  std::string value(rest);
  if ((mode & 0x80) == 0) {
    const uint64_t sum = XXH3_64bits(value.data(), value.size());
    for (int i = 0; i < 8; ++i) value.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
  }
  const unsigned first = mode & 0x0f;
  DecodeWith(first, value);
  for (unsigned d = 0; d < kDecoders; ++d) {
    if (d != first % kDecoders) DecodeWith(d, value);
  }
  return 0;
}
