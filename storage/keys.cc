#include "storage/keys.h"

#include <cstdio>

namespace heapa::storage {
namespace {

void AppendBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t ReadBigEndian64(std::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

std::string IdKey(KeyFamily family, uint64_t id) {
  std::string key(1, static_cast<char>(family));
  AppendBigEndian64(&key, id);
  return key;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

}  // namespace

std::string MetaKey(std::string_view name) {
  std::string key(1, static_cast<char>(KeyFamily::kMeta));
  key.append(name);
  return key;
}

std::string QueryKey(uint64_t id) { return IdKey(KeyFamily::kQuery, id); }
std::string StateChunkKey(uint64_t first_id) { return IdKey(KeyFamily::kStateChunk, first_id); }
std::string JournalKey(uint64_t seq) { return IdKey(KeyFamily::kJournal, seq); }
std::string Format2StateKey(uint64_t id) { return IdKey(KeyFamily::kFormat2State, id); }
std::string StatsKey(uint64_t id) { return IdKey(KeyFamily::kStats, id); }
std::string StatsChunkKey(uint64_t first_id) { return IdKey(KeyFamily::kStatsChunk, first_id); }
std::string StatsJournalKey(uint64_t seq) { return IdKey(KeyFamily::kStatsJournal, seq); }

std::string DedupKey(const Hash128& hash) {
  std::string key(1, static_cast<char>(KeyFamily::kDedup));
  AppendBigEndian64(&key, hash.high);
  AppendBigEndian64(&key, hash.low);
  return key;
}

std::string EdgeKey(uint64_t parent, uint64_t child) {
  std::string key(1, static_cast<char>(KeyFamily::kEdge));
  AppendBigEndian64(&key, parent);
  AppendBigEndian64(&key, child);
  return key;
}

std::string RequestKey(uint64_t client, uint64_t request) {
  std::string key = RequestKeyPrefix(client);
  AppendBigEndian64(&key, request);
  return key;
}

std::string RequestKeyPrefix(uint64_t client) {
  std::string key(1, static_cast<char>(KeyFamily::kRequest));
  AppendBigEndian64(&key, client);
  return key;
}

bool DecodeEdgeKey(std::string_view key, uint64_t* parent, uint64_t* child) {
  if (key.size() != 17 || key[0] != static_cast<char>(KeyFamily::kEdge)) return false;
  *parent = ReadBigEndian64(key.substr(1));
  *child = ReadBigEndian64(key.substr(9));
  return true;
}

bool DecodeRequestKey(std::string_view key, uint64_t* client, uint64_t* request) {
  if (key.size() != 17 || key[0] != static_cast<char>(KeyFamily::kRequest)) return false;
  *client = ReadBigEndian64(key.substr(1));
  *request = ReadBigEndian64(key.substr(9));
  return true;
}

bool InQueriesColumnFamily(std::string_view key) {
  return !key.empty() && key[0] == static_cast<char>(KeyFamily::kQuery);
}

std::string FamilyPrefix(KeyFamily family) { return std::string(1, static_cast<char>(family)); }

std::optional<uint64_t> DecodeIdKey(KeyFamily family, std::string_view key) {
  if (key.size() != 9 || key[0] != static_cast<char>(family)) return std::nullopt;
  return ReadBigEndian64(key.substr(1));
}

std::string DescribeKey(std::string_view key) {
  if (key.empty()) return "<empty key>";
  const char family = key[0];
  switch (family) {
    case static_cast<char>(KeyFamily::kQuery):
    case static_cast<char>(KeyFamily::kStats):
    case static_cast<char>(KeyFamily::kStateChunk):
    case static_cast<char>(KeyFamily::kJournal):
    case static_cast<char>(KeyFamily::kFormat2State):
    case static_cast<char>(KeyFamily::kStatsChunk):
    case static_cast<char>(KeyFamily::kStatsJournal):
      if (key.size() == 9) {
        return std::string(1, family) + "/" + std::to_string(ReadBigEndian64(key.substr(1)));
      }
      break;
    case static_cast<char>(KeyFamily::kMeta):
      return "M/" + std::string(key.substr(1));
    case static_cast<char>(KeyFamily::kDedup):
      return "H/" + Hex(key.substr(1));
    case static_cast<char>(KeyFamily::kRequest):
      if (key.size() == 17) {
        return "R/" + std::to_string(ReadBigEndian64(key.substr(1))) + "/" +
               std::to_string(ReadBigEndian64(key.substr(9)));
      }
      break;
    case static_cast<char>(KeyFamily::kEdge):
      if (key.size() == 17) {
        return "E/" + std::to_string(ReadBigEndian64(key.substr(1))) + "->" +
               std::to_string(ReadBigEndian64(key.substr(9)));
      }
      break;
    default:
      break;
  }
  return "?/" + Hex(key);
}

Status AtKey(const Status& s, std::string_view key) {
  return s.ok() ? s : s.WithContext(DescribeKey(key));
}

}  // namespace heapa::storage
