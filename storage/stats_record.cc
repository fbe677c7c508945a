// The codecs of a query's running statistics: one record ('T' up to format 4, and the unit of
// everything after), and from format 5 the chunks and journals that hold them ('U', 'K').
//
// From format 4 a record is packed (kind 'u'): a flags byte, then varints for the counts and
// the leases and 8 little-endian bytes for each double:
//
//   flags (0; no flag is defined yet) | reports | rollouts | mean | m2 | min | max |
//   last_group_mean | est_reward | has_est_reward (0/1) | zero_variance_streak | last_step
//   (zigzag) | last_report_lease | n | n recent leases
//
// 71 bytes with its envelope for a query reported once, against 137 for the FlatBuffer table
// of formats 2 and 3 (kind 't'), which is still read: a pool upgraded to format 4 keeps its
// old records until they are next written. A Report writes 512 of these, and the records fill
// the memtable, the WAL, the page cache and every compaction.
//
// Format 5 keeps these records, whole (envelope included, so each is verified on its own), in
// chunks and journals (state_log.h), packed as:
//
//   chunk ('v'):   first_id (8 LE) | as_of (8 LE) | n | n x (length | record, or length 0)
//   journal ('w'): seq (8 LE) | n | n x (id - previous id (the first: the id) | length | record)
//
// with varint counts, ids and lengths, and the envelope around the whole.
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include "records_generated.h"
#include "storage/record_envelope.h"
#include "storage/records.h"
#include "storage/result.h"

namespace heapa::storage {
namespace {

// A varint has at most 10 bytes: 7 bits each, 64 bits in all.
constexpr size_t kMaxVarintBytes = 10;
// The packed payload at its largest (every varint at 10 bytes, every lease present).
constexpr size_t kMaxPackedBytes = 1 + 6 * 8 + 1 + (6 + kRecentLeases) * kMaxVarintBytes;

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutDouble(double d, std::string* out) {
  envelope::PutFixed64(out, std::bit_cast<uint64_t>(d));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Reads the packed payload front to back; any read past its end, or a varint longer than 64
// bits or longer than it needs to be (PutVarint writes every value one way only), sets ok()
// false for good (reads then give zeros).
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }

  uint8_t Byte() {
    if (!ok_ || pos_ >= in_.size()) return Fail();
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; ok_ && shift < 64; shift += 7) {
      const uint8_t b = Byte();
      // The tenth byte holds bit 63 only.
      if (shift == 63 && b > 1) return Fail();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return b == 0 && shift > 0 ? Fail() : v;  // 0x80 0x00: over-long
    }
    return Fail();
  }
  uint64_t Fixed64() {
    if (!ok_ || in_.size() - pos_ < 8) return Fail();
    const uint64_t v = envelope::GetFixed64(in_.data() + pos_);
    pos_ += 8;
    return v;
  }
  double Double() { return std::bit_cast<double>(Fixed64()); }
  // The next n bytes (empty, and ok() false, when fewer are left).
  std::string_view Bytes(uint64_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      Fail();
      return {};
    }
    const std::string_view out = in_.substr(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  uint8_t Fail() {
    ok_ = false;
    return 0;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// What every stats record must satisfy, however it was encoded.
Status ValidateStats(const StatsRecord& rec) {
  if (rec.recent_leases.size() > kRecentLeases) {
    return Status::Corruption("stats remember more than " + std::to_string(kRecentLeases) +
                              " leases");
  }
  if (!Finite(rec.est_reward)) {  // also without has_est_reward, as for the state's reward
    return Status::Corruption("stats hold a non-finite est_reward");
  }
  if (!Finite(rec.mean) || !Finite(rec.m2) || rec.m2 < 0 || !Finite(rec.min) || !Finite(rec.max) ||
      !Finite(rec.last_group_mean)) {
    return Status::Corruption("stats hold a non-finite or negative moment");
  }
  if (rec.reports > rec.rollouts) return Status::Corruption("stats: more reports than rollouts");
  return Status::OK();
}

Status DecodePacked(std::string_view payload, StatsRecord* rec) {
  Reader r(payload);
  if (r.Byte() != 0) return Status::Corruption("stats record with unknown flags");
  rec->reports = r.Varint();
  rec->rollouts = r.Varint();
  rec->mean = r.Double();
  rec->m2 = r.Double();
  rec->min = r.Double();
  rec->max = r.Double();
  rec->last_group_mean = r.Double();
  rec->est_reward = r.Double();
  const uint8_t has_est = r.Byte();
  if (has_est > 1) return Status::Corruption("stats record: has_est_reward is not 0 or 1");
  rec->has_est_reward = has_est == 1;
  const uint64_t streak = r.Varint();
  if (streak > std::numeric_limits<uint32_t>::max()) {
    return Status::Corruption("stats record: zero-variance streak out of range");
  }
  rec->zero_variance_streak = static_cast<uint32_t>(streak);
  rec->last_step = UnZigZag(r.Varint());
  rec->last_report_lease = r.Varint();
  const uint64_t n = r.Varint();
  if (n > kRecentLeases) {
    return Status::Corruption("stats remember more than " + std::to_string(kRecentLeases) +
                              " leases");
  }
  rec->recent_leases.resize(n);
  for (uint64_t& lease : rec->recent_leases) lease = r.Varint();
  if (!r.ok()) return Status::Corruption("stats record truncated, or a varint too long");
  if (!r.at_end()) return Status::Corruption("stats record has trailing bytes");
  return ValidateStats(*rec);
}

Status DecodeFlatBuffer(std::string_view value, StatsRecord* rec) {
  const fb::Stats* st = nullptr;
  AlignedPayload scratch;
  Status s = envelope::OpenTable(Kind::kStats, value, &scratch, &st);
  if (!s.ok()) return s;
  rec->reports = st->reports();
  rec->rollouts = st->rollouts();
  rec->mean = st->mean();
  rec->m2 = st->m2();
  rec->min = st->min();
  rec->max = st->max();
  rec->zero_variance_streak = st->zero_variance_streak();
  rec->last_step = st->last_step();
  rec->last_report_lease = st->last_report_lease();
  rec->last_group_mean = st->last_group_mean();
  rec->has_est_reward = st->has_est_reward();
  rec->est_reward = st->est_reward();
  if (st->recent_leases() && st->recent_leases()->size() > kRecentLeases) {
    return Status::Corruption("stats remember more than " + std::to_string(kRecentLeases) +
                              " leases");
  }
  if (!CopyVector(st->recent_leases(), &rec->recent_leases)) {
    return Status::Corruption("misaligned recent leases");
  }
  return ValidateStats(*rec);
}

}  // namespace

void EncodeStats(const StatsRecord& rec, std::string* out) {
  std::string& p = *out;  // kind | payload, then its checksum (the envelope, built in place)
  p.clear();
  p.reserve(1 + kMaxPackedBytes + envelope::kChecksumBytes);
  p.push_back(static_cast<char>(Kind::kStatsPacked));
  p.push_back(0);  // flags
  PutVarint(rec.reports, &p);
  PutVarint(rec.rollouts, &p);
  PutDouble(rec.mean, &p);
  PutDouble(rec.m2, &p);
  PutDouble(rec.min, &p);
  PutDouble(rec.max, &p);
  PutDouble(rec.last_group_mean, &p);
  PutDouble(rec.est_reward, &p);
  p.push_back(rec.has_est_reward ? 1 : 0);
  PutVarint(rec.zero_variance_streak, &p);
  PutVarint(ZigZag(rec.last_step), &p);
  PutVarint(rec.last_report_lease, &p);
  PutVarint(rec.recent_leases.size(), &p);
  for (uint64_t lease : rec.recent_leases) PutVarint(lease, &p);
  envelope::AppendChecksum(&p);
}

void EncodeStatsFormat3(const StatsRecord& rec, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto leases = fbb.CreateVector(rec.recent_leases);
  fb::StatsBuilder b(fbb);
  b.add_recent_leases(leases);
  b.add_reports(rec.reports);
  b.add_rollouts(rec.rollouts);
  b.add_mean(rec.mean);
  b.add_m2(rec.m2);
  b.add_min(rec.min);
  b.add_max(rec.max);
  b.add_zero_variance_streak(rec.zero_variance_streak);
  b.add_last_step(rec.last_step);
  b.add_last_report_lease(rec.last_report_lease);
  b.add_last_group_mean(rec.last_group_mean);
  b.add_has_est_reward(rec.has_est_reward);
  b.add_est_reward(rec.est_reward);
  fbb.Finish(b.Finish());
  envelope::SealBuilder(Kind::kStats, fbb, out);
}

Status DecodeStats(std::string_view value, StatsRecord* rec) {
  if (!value.empty() && value[0] == static_cast<char>(Kind::kStats)) {
    return DecodeFlatBuffer(value, rec);
  }
  std::string_view payload;
  HEAPA_RETURN_IF_ERROR(Open(Kind::kStatsPacked, value, &payload));
  return DecodePacked(payload, rec);
}

Status DecodeStatsToPacked(std::string_view value, StatsRecord* rec, std::string* scratch,
                           std::string_view* packed) {
  HEAPA_RETURN_IF_ERROR(DecodeStats(value, rec));
  if (value[0] == static_cast<char>(Kind::kStatsPacked)) {
    *packed = value;
  } else {
    EncodeStats(*rec, scratch);
    *packed = *scratch;
  }
  return Status::OK();
}

namespace {

// The largest record a chunk or journal holds (a packed record with every varint at its
// longest, and its envelope).
constexpr size_t kMaxRecordBytes = 1 + kMaxPackedBytes + envelope::kChecksumBytes;

// Appends one record of a chunk or journal: its length, then its bytes.
void PutRecord(std::string_view record, std::string* out) {
  PutVarint(record.size(), out);
  out->append(record);
}

// Reads one record of a chunk or journal; empty when its length is 0. Corruption when it does
// not decode or is not packed (format 5 writes packed records only).
Status GetRecord(Reader* r, std::string* out) {
  const uint64_t n = r->Varint();
  if (!r->ok() || n > kMaxRecordBytes) {
    return Status::Corruption("statistics record of " + std::to_string(n) + " bytes, or truncated");
  }
  const std::string_view bytes = r->Bytes(n);
  if (!r->ok()) return Status::Corruption("statistics record truncated");
  out->assign(bytes);
  if (n == 0) return Status::OK();
  if (bytes[0] != static_cast<char>(Kind::kStatsPacked)) {
    return Status::Corruption("statistics record not packed");
  }
  StatsRecord rec;
  return DecodeStats(bytes, &rec);
}

// An encoded chunk or journal is reserved before it is written (growing it as it was written
// cost a reallocation and a copy per doubling): at most its kind, two fixed 64s, a count and
// the checksum, then per record at most two varints (an id delta, a length) and the record's
// bytes.
constexpr size_t kMaxFrameBytes = 1 + 2 * 8 + kMaxVarintBytes + envelope::kChecksumBytes;

}  // namespace

void EncodeStatsChunk(const StatsChunkRecord& rec, std::string* out) {
  std::string& p = *out;
  p.clear();
  size_t bytes = kMaxFrameBytes;
  for (const std::string& slot : rec.slots) bytes += kMaxVarintBytes + slot.size();
  p.reserve(bytes);
  p.push_back(static_cast<char>(Kind::kStatsChunk));
  envelope::PutFixed64(&p, rec.first_id);
  envelope::PutFixed64(&p, rec.as_of);
  PutVarint(rec.slots.size(), &p);
  for (const std::string& slot : rec.slots) PutRecord(slot, &p);
  envelope::AppendChecksum(&p);
}

Status DecodeStatsChunk(std::string_view value, StatsChunkRecord* rec) {
  std::string_view payload;
  HEAPA_RETURN_IF_ERROR(Open(Kind::kStatsChunk, value, &payload));
  Reader r(payload);
  rec->first_id = r.Fixed64();
  rec->as_of = r.Fixed64();
  const uint64_t n = r.Varint();
  if (!r.ok()) return Status::Corruption("statistics chunk truncated");
  if (rec->first_id == 0 || (rec->first_id - 1) % kStatsChunkIds != 0 ||
      rec->first_id > UINT64_MAX - kStatsChunkIds) {
    return Status::Corruption("statistics chunk starts at id " + std::to_string(rec->first_id) +
                              ", not at a chunk boundary");
  }
  if (n == 0 || n > kStatsChunkIds) {
    return Status::Corruption("statistics chunk of " + std::to_string(n) + " slots (1.." +
                              std::to_string(kStatsChunkIds) + ")");
  }
  rec->slots.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    Status s = GetRecord(&r, &rec->slots[i]);
    if (!s.ok()) return s.WithContext("query " + std::to_string(rec->first_id + i));
  }
  if (!r.at_end()) return Status::Corruption("statistics chunk has trailing bytes");
  return Status::OK();
}

void EncodeStatsJournal(const StatsJournalRecord& rec, std::string* out) {
  std::string& p = *out;
  p.clear();
  size_t bytes = kMaxFrameBytes;
  for (const auto& entry : rec.entries) bytes += 2 * kMaxVarintBytes + entry.second.size();
  p.reserve(bytes);
  p.push_back(static_cast<char>(Kind::kStatsJournal));
  envelope::PutFixed64(&p, rec.seq);
  PutVarint(rec.entries.size(), &p);
  uint64_t prev = 0;
  for (const auto& [id, stats] : rec.entries) {
    PutVarint(id - prev, &p);
    prev = id;
    PutRecord(stats, &p);
  }
  envelope::AppendChecksum(&p);
}

Status DecodeStatsJournal(std::string_view value, StatsJournalRecord* rec) {
  std::string_view payload;
  HEAPA_RETURN_IF_ERROR(Open(Kind::kStatsJournal, value, &payload));
  Reader r(payload);
  rec->seq = r.Fixed64();
  const uint64_t n = r.Varint();
  if (!r.ok()) return Status::Corruption("statistics journal truncated");
  // An entry takes at least 67 bytes (its id and length, 1 byte each, and a packed record of
  // 65 at least): the bound keeps a forged count from allocating more than the input.
  constexpr size_t kMinEntryBytes = 67;
  if (n == 0 || n > payload.size() / kMinEntryBytes) {
    return Status::Corruption("statistics journal of " + std::to_string(n) + " entries");
  }
  rec->entries.resize(n);
  uint64_t id = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t delta = r.Varint();
    if (!r.ok() || delta == 0 || delta > UINT64_MAX - id) {
      return Status::Corruption("statistics journal ids not increasing at entry " +
                                std::to_string(i));
    }
    id += delta;
    rec->entries[i].first = id;
    Status s = GetRecord(&r, &rec->entries[i].second);
    if (s.ok() && rec->entries[i].second.empty()) {
      s = Status::Corruption("an empty statistics record");
    }
    if (!s.ok()) return s.WithContext("query " + std::to_string(id));
  }
  if (!r.at_end()) return Status::Corruption("statistics journal has trailing bytes");
  return Status::OK();
}

}  // namespace heapa::storage
