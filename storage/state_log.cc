#include "storage/state_log.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "storage/check.h"
#include "storage/keys.h"

namespace heapa::storage {
namespace log_internal {

// The newest journaled record of one id (outside the anonymous namespace: the exported
// templates below hold these).
template <typename Traits>
struct Journaled {
  uint64_t seq = 0;
  typename Traits::Record state;
};

}  // namespace log_internal

using log_internal::Journaled;

namespace {

Status Report(const BadRecordFn& bad, std::string_view key, const Status& error) {
  return bad ? bad(key, error) : AtKey(error, key);
}

// Decodes the chunk stored under `key`, which must be the chunk key of its first id.
template <typename Traits>
Status DecodeChunkAt(std::string_view key, std::string_view value,
                     ChunkRecord<typename Traits::Record>* chunk) {
  const std::optional<uint64_t> first = DecodeIdKey(Traits::kChunkFamily, key);
  if (!first) return Status::Corruption(std::string("malformed ") + Traits::kWhat + " chunk key");
  HEAPA_RETURN_IF_ERROR(Traits::DecodeChunk(value, chunk));
  if (chunk->first_id != *first) {
    return Status::Corruption(std::string(Traits::kWhat) + " chunk of first id " +
                              std::to_string(chunk->first_id));
  }
  return Status::OK();
}

template <typename Traits>
uint64_t ChunkCount(uint64_t next_id) {
  return next_id <= 1 ? 0 : ChunkOf<Traits>(next_id - 1) + 1;
}

// Scans the journal into the newest record of each id that `wanted` accepts.
template <typename Traits>
Status ReadJournal(const Store& store, uint64_t next_id, uint64_t durable_seq,
                   const std::function<bool(uint64_t)>& wanted, const BadRecordFn& bad,
                   std::unordered_map<uint64_t, Journaled<Traits>>* latest,
                   std::vector<uint64_t>* seqs) {
  JournalRecord<typename Traits::Record> rec;
  return store.Scan(
      FamilyPrefix(Traits::kJournalFamily),
      [&](std::string_view key, std::string_view value) -> Status {
        const std::optional<uint64_t> seq = DecodeIdKey(Traits::kJournalFamily, key);
        if (!seq) return Report(bad, key, Status::Corruption("malformed journal key"));
        Status s = Traits::DecodeJournal(value, &rec);
        if (s.ok() && rec.seq != *seq) {
          s = Status::Corruption("journal record of seq " + std::to_string(rec.seq));
        }
        if (s.ok() && rec.seq > durable_seq) {
          s = Status::Corruption("journal record of a batch not yet written (durable_seq " +
                                 std::to_string(durable_seq) + ")");
        }
        if (!s.ok()) return Report(bad, key, s);
        if (rec.entries.back().first >= next_id) {  // ids increase: the last is the largest
          return Report(
              bad, key,
              Status::Corruption("names query " + std::to_string(rec.entries.back().first) +
                                 ", at or above next_id " + std::to_string(next_id)));
        }
        for (auto& [id, state] : rec.entries) {
          if (wanted(id))
            (*latest)[id] = Journaled<Traits>{rec.seq, std::move(state)};  // later win
        }
        if (seqs != nullptr) seqs->push_back(*seq);
        return Status::OK();
      });
}

}  // namespace

template <typename Traits>
RecordLog<Traits>::RecordLog(StateLogPosition position)
    : chunk_as_of_(std::move(position.chunk_as_of)),
      journal_(position.journal.begin(), position.journal.end()) {}

template <typename Traits>
StateLogPosition RecordLog<Traits>::position() const {
  return StateLogPosition{chunk_as_of_, {journal_.begin(), journal_.end()}};
}

template <typename Traits>
uint64_t RecordLog<Traits>::Write(uint64_t seq, uint64_t next_id,
                                  std::vector<std::pair<uint64_t, Record>> changed,
                                  const StateOf& state_of, Batch* batch, bool fold) {
  constexpr uint64_t kChunkIds = Traits::kChunkIds;
  constexpr uint64_t kEntriesPerChunk = Traits::kEntriesPerChunk;
  std::vector<uint64_t>& as_of = chunk_as_of_;
  const uint64_t chunks = ChunkCount<Traits>(next_id);
  const uint64_t known = std::min<uint64_t>(as_of.size(), chunks);
  const bool resized = as_of.size() != chunks;
  as_of.resize(chunks, 0);
  std::string value;
  uint64_t rewritten = 0;
  auto slots_of = [&](uint64_t c) {
    return std::min(kChunkIds, next_id - ChunkFirstId<Traits>(c));
  };
  auto rewrite = [&](uint64_t c) {
    ChunkRecord<Record> chunk;
    chunk.first_id = ChunkFirstId<Traits>(c);
    chunk.as_of = seq;
    chunk.slots.resize(slots_of(c));
    for (uint64_t i = 0; i < chunk.slots.size(); ++i) chunk.slots[i] = state_of(chunk.first_id + i);
    Traits::EncodeChunk(chunk, &value);
    batch->Put(Traits::ChunkKey(chunk.first_id), value);
    as_of[c] = seq;
    ++rewritten;
  };
  // A chunk where this batch changed many states (an insert's new ids, a reinsertion) is
  // rewritten at once: that costs fewer bytes than journaling them and paying for them later.
  // Its ids then need no journal entry (the chunk is as of this batch).
  //
  // A chunk this batch reaches first (the ids it creates start it) is written now, whatever
  // changed in it: never written, it would hold back the deletion of every journal record.
  // The states of new ids are all in their batch, so such a chunk qualified anyway; an insert
  // gives its queries no statistics, and an empty statistics chunk is about 1 KB.
  for (uint64_t c = known; c < chunks; ++c) rewrite(c);
  size_t journaled = 0;
  for (size_t i = 0; i < changed.size();) {
    const uint64_t c = ChunkOf<Traits>(changed[i].first);
    size_t end = i;
    while (end < changed.size() && ChunkOf<Traits>(changed[end].first) == c) ++end;
    if (as_of[c] == seq) {
      // Rewritten above: as of this batch already.
    } else if ((end - i) * kSlotsPerJournaled<Traits> >= slots_of(c)) {
      rewrite(c);
    } else {
      for (; i < end; ++i, ++journaled) {
        if (journaled != i) changed[journaled] = std::move(changed[i]);
      }
    }
    i = end;
  }
  changed.resize(journaled);
  debt_ += changed.size();
  while (debt_ >= kEntriesPerChunk && rewritten < chunks) {
    // The stalest chunk; one rewritten above is as of this batch, so it is the stalest only
    // when every chunk is.
    rewrite(std::min_element(as_of.begin(), as_of.end()) - as_of.begin());
    debt_ -= kEntriesPerChunk;
  }
  if (rewritten == chunks) debt_ = 0;  // every chunk is current
  // The stamps change only in rewrites: a batch that rewrote none (most small ones) reuses the
  // last minimum instead of scanning every chunk's.
  if (rewritten > 0 || resized || oldest_as_of_ == kUnknownOldest) {
    oldest_as_of_ = chunks == 0 ? kUnknownOldest : *std::min_element(as_of.begin(), as_of.end());
  }
  const uint64_t oldest = chunks == 0 ? seq : oldest_as_of_;
  uint64_t folded = 0;
  if (!changed.empty() && oldest < seq) {
    JournalRecord<Record> journal;
    journal.seq = seq;
    if (fold && open_seq_ != 0) {
      // The open record's entries that no chunk has passed since (a chunk rewritten after it
      // holds those states or newer ones), under this batch's own.
      std::vector<std::pair<uint64_t, Record>> merged;
      merged.reserve(open_entries_.size() + changed.size());
      auto ours = changed.begin();
      for (auto& entry : open_entries_) {
        if (as_of[ChunkOf<Traits>(entry.first)] >= open_seq_) continue;
        while (ours != changed.end() && ours->first < entry.first) merged.push_back(*ours++);
        if (ours != changed.end() && ours->first == entry.first) continue;
        merged.push_back(std::move(entry));
      }
      merged.insert(merged.end(), ours, changed.end());
      if (merged.size() <= Traits::kMaxFoldedEntries) {
        HEAPA_CHECK(journal_.back() == open_seq_);
        journal_.pop_back();  // never written, so never deleted
        folded = open_seq_;
        changed = std::move(merged);
      }
    }
    journal.entries = std::move(changed);
    Traits::EncodeJournal(journal, &value);
    batch->Put(Traits::JournalKey(seq), value);
    journal_.push_back(seq);
    open_seq_ = journal.entries.size() < Traits::kMaxFoldedEntries ? seq : 0;
    if (open_seq_ != 0) open_entries_ = std::move(journal.entries);
  }
  while (!journal_.empty() && journal_.front() <= oldest) {
    if (journal_.front() == open_seq_) open_seq_ = 0;  // deleted: nothing left to fold
    batch->Delete(Traits::JournalKey(journal_.front()));
    journal_.pop_front();
  }
  return folded;
}

template <typename Traits>
void RecordLog<Traits>::Unfold(uint64_t folded) {
  HEAPA_CHECK(!journal_.empty() && folded < journal_.back());
  journal_.insert(journal_.end() - 1, folded);
}

template <typename Traits>
Status ReadLog(const Store& store, uint64_t next_id, uint64_t durable_seq,
               const VisitFn<Traits>& visit, const BadRecordFn& bad, StateLogPosition* position) {
  using Record = typename Traits::Record;
  std::unordered_map<uint64_t, Journaled<Traits>> latest;
  StateLogPosition pos;
  HEAPA_RETURN_IF_ERROR(ReadJournal<Traits>(
      store, next_id, durable_seq, [](uint64_t) { return true; }, bad, &latest, &pos.journal));
  ChunkRecord<Record> chunk;
  HEAPA_RETURN_IF_ERROR(store.Scan(
      FamilyPrefix(Traits::kChunkFamily),
      [&](std::string_view key, std::string_view value) -> Status {
        Status s = DecodeChunkAt<Traits>(key, value, &chunk);
        if (s.ok() &&
            (chunk.first_id >= next_id || chunk.slots.size() > next_id - chunk.first_id)) {
          s = Status::Corruption("holds queries " + std::to_string(chunk.first_id) + " to " +
                                 std::to_string(chunk.first_id + (chunk.slots.size() - 1)) +
                                 ", not all below next_id " + std::to_string(next_id));
        }
        if (s.ok() && chunk.as_of > durable_seq) {
          s = Status::Corruption(std::string(Traits::kWhat) + " chunk as of batch " +
                                 std::to_string(chunk.as_of) + ", not yet written (durable_seq " +
                                 std::to_string(durable_seq) + ")");
        }
        if (!s.ok()) return Report(bad, key, s);
        // Sized by the chunks found (all below next_id, checked above).
        const uint64_t c = ChunkOf<Traits>(chunk.first_id);
        if (c >= pos.chunk_as_of.size()) pos.chunk_as_of.resize(c + 1, 0);
        pos.chunk_as_of[c] = chunk.as_of;
        for (uint64_t i = 0; i < chunk.slots.size(); ++i) {
          const uint64_t id = chunk.first_id + i;
          const Record* state = &chunk.slots[i];
          auto it = latest.find(id);
          if (it != latest.end() && it->second.seq > chunk.as_of) state = &it->second.state;
          if (Traits::Held(*state)) HEAPA_RETURN_IF_ERROR(visit(id, *state));
          if (it != latest.end()) latest.erase(it);  // settled: not one of the ids left below
        }
        return Status::OK();
      }));
  // Ids created after their chunk was last written (or before it ever was).
  std::vector<std::pair<uint64_t, Journaled<Traits>>> rest;
  rest.reserve(latest.size());
  for (auto& held : latest) rest.emplace_back(held.first, std::move(held.second));
  std::sort(rest.begin(), rest.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, j] : rest) {
    const uint64_t c = ChunkOf<Traits>(id);
    if (c < pos.chunk_as_of.size() && pos.chunk_as_of[c] >= j.seq) {
      HEAPA_RETURN_IF_ERROR(
          Report(bad, Traits::ChunkKey(ChunkFirstId<Traits>(c)),
                 Status::Corruption("as of batch " + std::to_string(pos.chunk_as_of[c]) +
                                    " it lacks query " + std::to_string(id) +
                                    ", journaled in batch " + std::to_string(j.seq))));
      continue;
    }
    HEAPA_RETURN_IF_ERROR(visit(id, j.state));
  }
  if (position != nullptr) *position = std::move(pos);
  return Status::OK();
}

template <typename Traits>
Status ReadLogOf(const Store& store, const std::vector<uint64_t>& ids,
                 std::vector<std::optional<typename Traits::Record>>* out) {
  using Record = typename Traits::Record;
  const std::unordered_set<uint64_t> wanted(ids.begin(), ids.end());
  std::unordered_map<uint64_t, Journaled<Traits>> latest;
  HEAPA_RETURN_IF_ERROR(ReadJournal<Traits>(
      store, UINT64_MAX, UINT64_MAX, [&](uint64_t id) { return wanted.count(id) != 0; }, nullptr,
      &latest, nullptr));
  out->assign(ids.size(), std::nullopt);
  std::unordered_map<uint64_t, ChunkRecord<Record>> chunks;  // by first id; empty: none stored
  std::string value;
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    if (id == 0) continue;
    const uint64_t first = ChunkFirstId<Traits>(ChunkOf<Traits>(id));
    auto [it, inserted] = chunks.try_emplace(first);
    if (inserted) {
      const std::string key = Traits::ChunkKey(first);
      Status s = store.Get(key, &value);
      if (s.ok()) {
        HEAPA_RETURN_IF_ERROR(AtKey(DecodeChunkAt<Traits>(key, value, &it->second), key));
      } else if (s.code() != Status::Code::kNotFound) {
        return s;
      }
    }
    const ChunkRecord<Record>& chunk = it->second;
    auto j = latest.find(id);
    if (j != latest.end() && (chunk.slots.empty() || j->second.seq > chunk.as_of)) {
      (*out)[i] = j->second.state;
    } else if (id - first < chunk.slots.size() && Traits::Held(chunk.slots[id - first])) {
      (*out)[i] = chunk.slots[id - first];
    }
  }
  return Status::OK();
}

template class RecordLog<StateLogTraits>;
template class RecordLog<StatsLogTraits>;
template Status ReadLog<StateLogTraits>(const Store&, uint64_t, uint64_t,
                                        const VisitFn<StateLogTraits>&, const BadRecordFn&,
                                        StateLogPosition*);
template Status ReadLog<StatsLogTraits>(const Store&, uint64_t, uint64_t,
                                        const VisitFn<StatsLogTraits>&, const BadRecordFn&,
                                        StateLogPosition*);
template Status ReadLogOf<StateLogTraits>(const Store&, const std::vector<uint64_t>&,
                                          std::vector<std::optional<StateRecord>>*);
template Status ReadLogOf<StatsLogTraits>(const Store&, const std::vector<uint64_t>&,
                                          std::vector<std::optional<std::string>>*);

}  // namespace heapa::storage
