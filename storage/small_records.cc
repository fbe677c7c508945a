// The small records: op results, format, dedup, edges; and the content hash.
#include "storage/records.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include "records_generated.h"
#include "storage/record_envelope.h"

namespace heapa::storage {

void EncodeOpResult(const OpResultRecord& rec, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(64 + rec.ids.size() * 24);
  auto ids = fbb.CreateVector(rec.ids);
  auto codes = fbb.CreateVector(rec.codes);
  auto has_rewards = fbb.CreateVector(rec.has_rewards);
  auto rewards = fbb.CreateVector(rec.rewards);
  fb::OpResultBuilder b(fbb);
  b.add_kind(static_cast<uint8_t>(rec.kind));
  b.add_ids(ids);
  b.add_codes(codes);
  b.add_lease(rec.lease);
  b.add_lease_deadline_ms(rec.lease_deadline_ms);
  b.add_has_rewards(has_rewards);
  b.add_rewards(rewards);
  b.add_count(rec.count);
  fbb.Finish(b.Finish());
  SealBuilder(Kind::kOpResult, fbb, out);
}

Status DecodeOpResult(std::string_view value, OpResultRecord* rec) {
  const fb::OpResult* r = nullptr;
  AlignedPayload scratch;
  Status s = OpenTable(Kind::kOpResult, value, &scratch, &r);
  if (!s.ok()) return s;
  if (r->kind() < static_cast<uint8_t>(OpKind::kInsert) ||
      r->kind() > static_cast<uint8_t>(OpKind::kRecover)) {
    return Status::Corruption("op result kind " + std::to_string(r->kind()) + " out of range");
  }
  rec->kind = static_cast<OpKind>(r->kind());
  if (!CopyVector(r->ids(), &rec->ids) || !CopyVector(r->codes(), &rec->codes) ||
      !CopyVector(r->has_rewards(), &rec->has_rewards) ||
      !CopyVector(r->rewards(), &rec->rewards)) {
    return Status::Corruption("misaligned op result column");
  }
  rec->lease = r->lease();
  rec->lease_deadline_ms = r->lease_deadline_ms();
  rec->count = r->count();
  const size_t n = rec->ids.size();
  const bool sized =
      rec->kind == OpKind::kSample
          ? rec->codes.size() == n && rec->has_rewards.size() == n && rec->rewards.size() == n
          : rec->codes.size() == n || rec->codes.empty();
  if (!sized) return Status::Corruption("op result columns differ in length");
  // Only a sample stores rewards: each a flag (0/1) and a finite value (0 when unscored).
  if (rec->kind != OpKind::kSample && (!rec->has_rewards.empty() || !rec->rewards.empty())) {
    return Status::Corruption("op result of a non-sample holds rewards");
  }
  for (size_t i = 0; i < rec->rewards.size(); ++i) {
    if (rec->has_rewards[i] > 1 || !Finite(rec->rewards[i])) {
      return Status::Corruption("op result holds a bad reward at " + std::to_string(i));
    }
  }
  return Status::OK();
}

void EncodeFormat(uint32_t version, std::string* out) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((version >> (8 * i)) & 0xff);
  Seal(Kind::kFormat, buf, sizeof(buf), out);
}

Status DecodeFormat(std::string_view value, uint32_t* version) {
  std::string_view payload;
  Status s = Open(Kind::kFormat, value, &payload);
  if (!s.ok()) return s;
  if (payload.size() != 4) return Status::Corruption("format record has the wrong size");
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(payload[i]);
  *version = v;
  return Status::OK();
}

void EncodeDedup(uint64_t id, std::string* out) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((id >> (8 * i)) & 0xff);
  Seal(Kind::kDedup, buf, sizeof(buf), out);
}

Status DecodeDedup(std::string_view value, uint64_t* id) {
  std::string_view payload;
  Status s = Open(Kind::kDedup, value, &payload);
  if (!s.ok()) return s;
  if (payload.size() != 8) return Status::Corruption("dedup record has the wrong size");
  *id = GetFixed64(payload.data());
  if (*id == 0) return Status::Corruption("dedup record names id 0");
  return Status::OK();
}

void EncodeEdge(double policy_difficulty, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &policy_difficulty, sizeof(bits));
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
  Seal(Kind::kEdge, buf, sizeof(buf), out);
}

Status DecodeEdge(std::string_view value, double* policy_difficulty) {
  std::string_view payload;
  Status s = Open(Kind::kEdge, value, &payload);
  if (!s.ok()) return s;
  if (payload.size() != 8) return Status::Corruption("edge record has the wrong size");
  const uint64_t bits = GetFixed64(payload.data());
  std::memcpy(policy_difficulty, &bits, sizeof(bits));
  if (!Finite(*policy_difficulty) || *policy_difficulty <= 0) {
    return Status::Corruption("edge difficulty is not a finite positive number");
  }
  return Status::OK();
}

Hash128 ContentHash(std::string_view prompt, std::string_view answer) {
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  const uint64_t len = prompt.size();
  char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  XXH3_128bits_update(&state, len_bytes, sizeof(len_bytes));
  XXH3_128bits_update(&state, prompt.data(), prompt.size());
  XXH3_128bits_update(&state, answer.data(), answer.size());
  const XXH128_hash_t h = XXH3_128bits_digest(&state);
  return Hash128{h.high64, h.low64};
}

}  // namespace heapa::storage
