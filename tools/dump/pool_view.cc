#include "tools/dump/pool_view.h"

#include <string>
#include <string_view>

#include "storage/format_upgrade.h"
#include "storage/keys.h"
#include "storage/state_log.h"

namespace heapa::dump {
namespace {

using storage::DescribeKey;
using storage::KeyFamily;

template <typename Rec>
Status ReadMeta(const storage::Store& store, std::string_view name,
                Status (*decode)(std::string_view, Rec*), Rec* rec) {
  std::string value;
  const std::string key = storage::MetaKey(name);
  Status s = store.Get(key, &value);
  if (s.code() == Status::Code::kNotFound) {
    return Status::NotFound(store.dir() + " holds no pool (no " + DescribeKey(key) + ")");
  }
  HEAPA_RETURN_IF_ERROR(s);
  return decode(value, rec).WithContext(DescribeKey(key));
}

Status DecodeStatsLite(std::string_view value, storage::StatsRecord* rec) {
  HEAPA_RETURN_IF_ERROR(storage::DecodeStats(value, rec));
  rec->recent_leases = {};
  return Status::OK();
}

}  // namespace

Status CheckFormat(const storage::Store& store) {
  uint32_t version = 0;
  HEAPA_RETURN_IF_ERROR(ReadMeta(store, "format", &storage::DecodeFormat, &version));
  if (storage::ReadsFormatAsIs(version)) return Status::OK();
  return Status::FailedPrecondition(
      store.dir() + " holds a pool of format " + std::to_string(version) + "; this build reads " +
      std::to_string(storage::kFormatVersion) +
      " and 5 (heapad upgrades a pool when it opens it: dump it after that)");
}

Result<PoolView> Load(const storage::Store& store, const LoadParts& parts, Progress* progress) {
  HEAPA_RETURN_IF_ERROR(CheckFormat(store));
  PoolView view;
  HEAPA_RETURN_IF_ERROR(ReadMeta(store, "config", &storage::DecodeConfig, &view.config));
  HEAPA_RETURN_IF_ERROR(ReadMeta(store, "counters", &storage::DecodeCounters, &view.counters));
  const uint64_t next_id = view.counters.next_id;
  // Ids are dense, so next_id bounds the tables; a corrupt huge value must not allocate.
  if (next_id == 0 || next_id > (uint64_t{1} << 34)) {
    return Status::Corruption("M/counters: implausible next_id " + std::to_string(next_id));
  }
  uint64_t read = 0;
  if (parts.states) {
    view.states.assign(next_id, std::nullopt);
    HEAPA_RETURN_IF_ERROR(storage::ReadStates(store, next_id, view.counters.durable_seq,
                                              [&](uint64_t id, const storage::StateRecord& rec) {
                                                view.states[id] = rec;
                                                if (progress != nullptr)
                                                  progress->Update(++read, "records");
                                                return Status::OK();
                                              }));
  }
  if (parts.stats) {
    view.stats.assign(next_id, std::nullopt);
    HEAPA_RETURN_IF_ERROR(storage::ReadLog<storage::StatsLogTraits>(
        store, next_id, view.counters.durable_seq, [&](uint64_t id, const std::string& encoded) {
          storage::StatsRecord rec;
          HEAPA_RETURN_IF_ERROR(DecodeStatsLite(encoded, &rec));
          view.stats[id] = std::move(rec);
          if (progress != nullptr) progress->Update(++read, "records");
          return Status::OK();
        }));
  }
  if (parts.edges) {
    HEAPA_RETURN_IF_ERROR(store.Scan(
        storage::FamilyPrefix(KeyFamily::kEdge),
        [&](std::string_view key, std::string_view value) -> Status {
          Edge e;
          if (!storage::DecodeEdgeKey(key, &e.parent, &e.child)) {
            return Status::Corruption("malformed edge key " + DescribeKey(key));
          }
          HEAPA_RETURN_IF_ERROR(
              storage::DecodeEdge(value, &e.policy_difficulty).WithContext(DescribeKey(key)));
          view.edges.push_back(e);
          return Status::OK();
        }));
  }
  return view;
}

Status ForEachQuery(const storage::Store& store,
                    const std::function<Status(uint64_t id, storage::QueryRecord&& rec)>& fn) {
  return store.Scan(
      storage::FamilyPrefix(KeyFamily::kQuery),
      [&](std::string_view key, std::string_view value) -> Status {
        const std::optional<uint64_t> id = storage::DecodeIdKey(KeyFamily::kQuery, key);
        if (!id) return Status::Corruption("malformed key " + DescribeKey(key));
        storage::QueryRecord rec;
        HEAPA_RETURN_IF_ERROR(storage::DecodeQuery(value, &rec).WithContext(DescribeKey(key)));
        return fn(*id, std::move(rec));
      });
}

Status ReadQuery(const storage::Store& store, uint64_t id, storage::QueryRecord* rec) {
  std::string value;
  const std::string key = storage::QueryKey(id);
  HEAPA_RETURN_IF_ERROR(store.Get(key, &value));
  return storage::DecodeQuery(value, rec).WithContext(DescribeKey(key));
}

}  // namespace heapa::dump
