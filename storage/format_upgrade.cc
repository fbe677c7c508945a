#include "storage/format_upgrade.h"

#include <string>
#include <vector>

#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/result.h"
#include "storage/state_log.h"

namespace heapa::storage {
namespace {

// The prefix of format 2's per-id state records: 'S' id(8), a StateRecord each.
constexpr char kFormat2StatePrefix[] = "S";

}  // namespace

bool CanUpgradeFormat(uint32_t version) { return version == 2; }

Status UpgradeFormat(Store* store, uint32_t version) {
  if (!CanUpgradeFormat(version)) {
    return Status::FailedPrecondition("no upgrade from pool format " + std::to_string(version));
  }
  std::string value;
  HEAPA_RETURN_IF_ERROR(store->Get(MetaKey("counters"), &value));
  CountersRecord counters;
  HEAPA_RETURN_IF_ERROR(AtKey(DecodeCounters(value, &counters), MetaKey("counters")));
  // The ids are dense below next_id; every one has its record.
  if (counters.next_id == 0 || counters.next_id > (uint64_t{1} << 34)) {
    return Status::Corruption("M/counters: implausible next_id " +
                              std::to_string(counters.next_id));
  }
  std::vector<StateRecord> states(counters.next_id);
  uint64_t found = 0;
  Batch batch;
  HEAPA_RETURN_IF_ERROR(
      store->Scan(kFormat2StatePrefix, [&](std::string_view key, std::string_view v) -> Status {
        if (key.size() != 9) return Status::Corruption("malformed format-2 state key");
        uint64_t id = 0;
        for (size_t i = 1; i < 9; ++i) id = (id << 8) | static_cast<unsigned char>(key[i]);
        if (id == 0 || id >= counters.next_id) {
          return Status::Corruption("format-2 state of query " + std::to_string(id) +
                                    ", outside 1.." + std::to_string(counters.next_id - 1));
        }
        HEAPA_RETURN_IF_ERROR(
            DecodeState(v, &states[id]).WithContext("format-2 state " + std::to_string(id)));
        ++found;
        batch.Delete(key);
        return Status::OK();
      }));
  if (found != counters.next_id - 1) {
    return Status::Corruption("format-2 pool has " + std::to_string(found) +
                              " state records; its counters say " +
                              std::to_string(counters.next_id - 1));
  }
  // All states as of the last batch format 2 wrote (durable_seq; nothing of format 3 exists
  // yet, so no record is newer): the next batch's journal has a higher seq and wins.
  StateLog log;
  std::vector<std::pair<uint64_t, StateRecord>> all;
  all.reserve(found);
  for (uint64_t id = 1; id < counters.next_id; ++id) all.emplace_back(id, states[id]);
  log.Write(
      counters.durable_seq, counters.next_id, all, [&](uint64_t id) { return states[id]; }, &batch);
  EncodeFormat(kFormatVersion, &value);
  batch.Put(MetaKey("format"), value);
  return store->Write(&batch).WithContext("upgrade to pool format " +
                                          std::to_string(kFormatVersion));
}

}  // namespace heapa::storage
