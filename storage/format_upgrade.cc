#include "storage/format_upgrade.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/result.h"
#include "storage/state_log.h"

namespace heapa::storage {

bool CanUpgradeFormat(uint32_t version) { return version >= 2 && version < kFormatVersion; }

bool ReadsFormatAsIs(uint32_t version) { return version == kFormatVersion || version == 5; }

namespace {

// Moves every 'T' record (one per id, formats 2 to 4; packed or a FlatBuffer) into statistics
// chunks as of the last batch written (durable_seq; no statistics journal exists yet, so the
// next batch's wins), and deletes them, in `batch`. Every chunk below next_id is written, empty
// ones too (state_log.h). The records come in id order, so one chunk is held at a time.
Status MoveStatsToChunks(const Store& store, const CountersRecord& counters, Batch* batch) {
  const uint64_t chunks = counters.next_id <= 1 ? 0 : (counters.next_id - 2) / kStatsChunkIds + 1;
  StatsChunkRecord chunk;
  uint64_t next_chunk = 0;  // the chunk `chunk` holds, once started
  std::string value;
  // Writes every chunk before `end`, the one being filled first.
  const auto write_until = [&](uint64_t end) {
    for (; next_chunk < end; ++next_chunk) {
      const uint64_t first = next_chunk * kStatsChunkIds + 1;
      if (chunk.first_id != first) {  // not started: no record in it
        chunk.slots.clear();
        chunk.first_id = first;
      }
      chunk.as_of = counters.durable_seq;
      chunk.slots.resize(std::min(kStatsChunkIds, counters.next_id - first));
      EncodeStatsChunk(chunk, &value);
      batch->Put(StatsChunkKey(first), value);
      chunk.first_id = 0;
    }
  };
  StatsRecord rec;
  std::string scratch;
  HEAPA_RETURN_IF_ERROR(
      store.Scan(FamilyPrefix(KeyFamily::kStats), [&](std::string_view key, std::string_view v) {
        const std::optional<uint64_t> id = DecodeIdKey(KeyFamily::kStats, key);
        if (!id || *id == 0 || *id >= counters.next_id) {
          return Status::Corruption("statistics " + DescribeKey(key) +
                                    " of a query that does not exist");
        }
        std::string_view packed;
        HEAPA_RETURN_IF_ERROR(AtKey(DecodeStatsToPacked(v, &rec, &scratch, &packed), key));
        const uint64_t c = (*id - 1) / kStatsChunkIds;
        write_until(c);
        if (chunk.first_id == 0) {
          chunk.first_id = c * kStatsChunkIds + 1;
          chunk.slots.assign(std::min(kStatsChunkIds, counters.next_id - chunk.first_id), "");
        }
        chunk.slots[*id - chunk.first_id].assign(packed);
        batch->Delete(key);
        return Status::OK();
      }));
  write_until(chunks);
  return Status::OK();
}

// The counters of a pool being upgraded. Every format wrote each query's state in the batch
// that created it, and every batch advanced durable_seq: a pool with queries has
// durable_seq > 0.
Status ReadCounters(const Store& store, CountersRecord* counters) {
  std::string value;
  HEAPA_RETURN_IF_ERROR(store.Get(MetaKey("counters"), &value));
  HEAPA_RETURN_IF_ERROR(AtKey(DecodeCounters(value, counters), MetaKey("counters")));
  if (counters->next_id == 0 || (counters->next_id > 1 && counters->durable_seq == 0)) {
    return Status::Corruption("M/counters: next_id " + std::to_string(counters->next_id) +
                              " with durable_seq " + std::to_string(counters->durable_seq));
  }
  return Status::OK();
}

}  // namespace

Status EnsureCurrentFormat(Store* store, const std::string& what) {
  std::string value;
  Status s = store->Get(MetaKey("format"), &value);
  if (s.code() == Status::Code::kNotFound) {
    return Status::Corruption(what + " holds no pool format record");
  }
  HEAPA_RETURN_IF_ERROR(s);
  uint32_t version = 0;
  HEAPA_RETURN_IF_ERROR(AtKey(DecodeFormat(value, &version), MetaKey("format")));
  if (version == kFormatVersion) return Status::OK();
  if (CanUpgradeFormat(version)) return UpgradeFormat(store, version).WithContext(what);
  return Status::FailedPrecondition(
      what + " has format version " + std::to_string(version) + "; this build reads " +
      std::to_string(kFormatVersion) +
      " (export it with the heapa that wrote it, then import it with this one)");
}

Status UpgradeFormat(Store* store, uint32_t version) {
  if (!CanUpgradeFormat(version)) {
    return Status::FailedPrecondition("no upgrade from pool format " + std::to_string(version));
  }
  std::string value;
  Batch batch;
  if (ReadsFormatAsIs(version)) {  // format 5: only the version changes (keys.h)
    EncodeFormat(kFormatVersion, &value);
    batch.Put(MetaKey("format"), value);
    return store->Write(&batch).WithContext("upgrade to pool format " +
                                            std::to_string(kFormatVersion));
  }
  CountersRecord counters;
  HEAPA_RETURN_IF_ERROR(ReadCounters(*store, &counters));
  HEAPA_RETURN_IF_ERROR(MoveStatsToChunks(*store, counters, &batch));
  if (version >= 3) {
    // This format reads every other record of formats 3 and 4 as it is.
    EncodeFormat(kFormatVersion, &value);
    batch.Put(MetaKey("format"), value);
    return store->Write(&batch).WithContext("upgrade to pool format " +
                                            std::to_string(kFormatVersion));
  }
  // The ids are dense below next_id and the keys sort by id: each record is the next id.
  std::vector<std::pair<uint64_t, StateRecord>> all;
  HEAPA_RETURN_IF_ERROR(store->Scan(
      FamilyPrefix(KeyFamily::kFormat2State),
      [&](std::string_view key, std::string_view v) -> Status {
        const std::optional<uint64_t> parsed = DecodeIdKey(KeyFamily::kFormat2State, key);
        if (!parsed) return Status::Corruption("malformed format-2 state key");
        const uint64_t id = *parsed;
        if (id != all.size() + 1 || id >= counters.next_id) {
          return Status::Corruption("format-2 state of query " + std::to_string(id) +
                                    " where query " + std::to_string(all.size() + 1) +
                                    " was expected (next_id " + std::to_string(counters.next_id) +
                                    ")");
        }
        StateRecord state;
        HEAPA_RETURN_IF_ERROR(
            DecodeState(v, &state).WithContext("format-2 state " + std::to_string(id)));
        all.emplace_back(id, state);
        batch.Delete(key);
        return Status::OK();
      }));
  if (all.size() != counters.next_id - 1) {
    return Status::Corruption("format-2 pool has " + std::to_string(all.size()) +
                              " state records; its counters say " +
                              std::to_string(counters.next_id - 1));
  }
  // All states as of the last batch format 2 wrote (durable_seq; nothing of format 3 exists
  // yet, so no record is newer): the next batch's journal has a higher seq and wins. Every
  // state changes, so this writes every chunk and no journal record.
  StateLog log;
  log.Write(
      counters.durable_seq, counters.next_id, all, [&](uint64_t id) { return all[id - 1].second; },
      &batch);
  EncodeFormat(kFormatVersion, &value);
  batch.Put(MetaKey("format"), value);
  return store->Write(&batch).WithContext("upgrade to pool format " +
                                          std::to_string(kFormatVersion));
}

}  // namespace heapa::storage
