// The codecs of the state chunks and journals: runs of fixed-size StateSlot structs.
#include <cstdint>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "records_generated.h"
#include "storage/record_envelope.h"
#include "storage/records.h"
#include "storage/result.h"

namespace heapa::storage {
namespace {

fb::StateSlot ToSlot(const StateRecord& rec) {
  return fb::StateSlot(rec.reward, rec.seq, rec.lease, rec.lease_deadline_ms, rec.times_sampled,
                       static_cast<uint8_t>(rec.state), static_cast<uint8_t>(rec.prev_state),
                       rec.has_reward);
}

Status FromSlot(const fb::StateSlot& slot, StateRecord* rec) {
  rec->state = static_cast<QueryState>(slot.state());
  rec->prev_state = static_cast<QueryState>(slot.prev_state());
  rec->has_reward = slot.has_reward();
  rec->reward = slot.reward();
  rec->seq = slot.seq();
  rec->times_sampled = slot.times_sampled();
  rec->lease = slot.lease();
  rec->lease_deadline_ms = slot.lease_deadline_ms();
  return ValidateState(*rec);
}

}  // namespace

void EncodeStateChunk(const StateChunkRecord& rec, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(64 + rec.slots.size() * sizeof(fb::StateSlot));
  std::vector<fb::StateSlot> slots;
  slots.reserve(rec.slots.size());
  for (const StateRecord& s : rec.slots) slots.push_back(ToSlot(s));
  auto vec = fbb.CreateVectorOfStructs(slots);
  fb::StateChunkBuilder b(fbb);
  b.add_first_id(rec.first_id);
  b.add_as_of(rec.as_of);
  b.add_slots(vec);
  fbb.Finish(b.Finish());
  SealBuilder(Kind::kStateChunk, fbb, out);
}

Status DecodeStateChunk(std::string_view value, StateChunkRecord* rec) {
  const fb::StateChunk* chunk = nullptr;
  AlignedPayload scratch;
  HEAPA_RETURN_IF_ERROR(OpenTable(Kind::kStateChunk, value, &scratch, &chunk));
  rec->first_id = chunk->first_id();
  rec->as_of = chunk->as_of();
  if (rec->first_id == 0 || (rec->first_id - 1) % kStateChunkIds != 0 ||
      rec->first_id > UINT64_MAX - kStateChunkIds) {
    return Status::Corruption("state chunk starts at id " + std::to_string(rec->first_id) +
                              ", not at a chunk boundary");
  }
  const auto* slots = chunk->slots();
  const size_t n = slots == nullptr ? 0 : slots->size();
  if (n == 0 || n > kStateChunkIds) {
    return Status::Corruption("state chunk of " + std::to_string(n) + " slots (1.." +
                              std::to_string(kStateChunkIds) + ")");
  }
  if (!ElementsAligned(slots, alignof(fb::StateSlot)))
    return Status::Corruption("misaligned state slots");
  rec->slots.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Status s = FromSlot(*slots->Get(static_cast<flatbuffers::uoffset_t>(i)), &rec->slots[i]);
    if (!s.ok()) return s.WithContext("query " + std::to_string(rec->first_id + i));
  }
  return Status::OK();
}

void EncodeStateJournal(const StateJournalRecord& rec, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(64 + rec.entries.size() * sizeof(fb::StateEntry));
  std::vector<fb::StateEntry> entries;
  entries.reserve(rec.entries.size());
  for (const auto& [id, state] : rec.entries) entries.emplace_back(id, ToSlot(state));
  auto vec = fbb.CreateVectorOfStructs(entries);
  fb::StateJournalBuilder b(fbb);
  b.add_seq(rec.seq);
  b.add_entries(vec);
  fbb.Finish(b.Finish());
  SealBuilder(Kind::kStateJournal, fbb, out);
}

Status DecodeStateJournal(std::string_view value, StateJournalRecord* rec) {
  const fb::StateJournal* journal = nullptr;
  AlignedPayload scratch;
  HEAPA_RETURN_IF_ERROR(OpenTable(Kind::kStateJournal, value, &scratch, &journal));
  rec->seq = journal->seq();
  const auto* entries = journal->entries();
  const size_t n = entries == nullptr ? 0 : entries->size();
  if (n == 0) return Status::Corruption("state journal without entries");
  if (!ElementsAligned(entries, alignof(fb::StateEntry)))
    return Status::Corruption("misaligned journal entries");
  rec->entries.resize(n);
  uint64_t prev = 0;
  for (size_t i = 0; i < n; ++i) {
    const fb::StateEntry& e = *entries->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (e.id() <= prev) {
      return Status::Corruption("journal ids not increasing at entry " + std::to_string(i));
    }
    prev = e.id();
    rec->entries[i].first = e.id();
    Status s = FromSlot(e.slot(), &rec->entries[i].second);
    if (!s.ok()) return s.WithContext("query " + std::to_string(e.id()));
  }
  return Status::OK();
}

}  // namespace heapa::storage
