// VerifyIndex: the live index against a rebuild from storage.
#include <string>

#include "index/pool.h"
#include "storage/committer.h"
#include "storage/records.h"

namespace heapa {
namespace {

std::string Ids(const std::vector<QueryId>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < 8; ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  if (ids.size() > 8) out += " ... (" + std::to_string(ids.size()) + ")";
  return out;
}

// The first difference between two sets in order, or "".
std::string CompareSet(const char* name, const std::vector<QueryId>& live,
                       const std::vector<QueryId>& disk) {
  if (live == disk) return "";
  return std::string(name) + " holds [" + Ids(live) + "] in memory, [" + Ids(disk) + "] on disk";
}

}  // namespace

Pool::Snapshot Pool::SnapshotOf(const index::FrontierIndex& ix) {
  Snapshot snap;
  for (const index::Entry& e : ix.low()) snap.low.push_back(e.id);
  for (const index::Entry& e : ix.high()) snap.high.push_back(e.id);
  for (const index::Entry& e : ix.cold()) snap.cold.push_back(e.id);
  for (const index::Entry& e : ix.in_flight()) snap.in_flight.push_back(e.id);
  for (uint64_t id : ix.archived()) snap.archived.push_back(id);
  for (const index::Entry& e : ix.pending()) snap.pending.push_back(e.id);
  snap.counters = ix.counters();
  return snap;
}

Status Pool::VerifyIndex() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  HEAPA_RETURN_IF_ERROR(committer_->Drain());
  LoadedIndex disk;
  HEAPA_RETURN_IF_ERROR(LoadIndex(&disk).WithContext("rebuild for verification"));
  auto differ = [](const std::string& what) {
    return Status::Corruption("the index differs from storage: " + what);
  };

  storage::CountersRecord live_counters = ix_->counters();
  live_counters.rng_state = ix_->rng().state();
  live_counters.rng_inc = ix_->rng().inc();
  const storage::CountersRecord& disk_counters = disk.ix->counters();
  if (!(live_counters == disk_counters)) {
    return differ("counters (next id " + std::to_string(live_counters.next_id) + " vs " +
                  std::to_string(disk_counters.next_id) + ", durable seq " +
                  std::to_string(live_counters.durable_seq) + " vs " +
                  std::to_string(disk_counters.durable_seq) + ", or the RNG)");
  }
  for (uint64_t id = 1; id < live_counters.next_id; ++id) {
    const index::Entry* a = ix_->Find(id);
    const index::Entry* b = disk.ix->Find(id);
    if (a == nullptr || b == nullptr) return differ("query " + std::to_string(id) + " is missing");
    if (!(a->ToRecord() == b->ToRecord())) {
      return differ("query " + std::to_string(id) + " is " +
                    std::string(storage::QueryStateName(a->state)) + " in memory, " +
                    std::string(storage::QueryStateName(b->state)) + " on disk, or its " +
                    "reward, seq or lease differ");
    }
    if (lineage_.Parents(id) != disk.lineage.Parents(id) ||
        lineage_.Children(id) != disk.lineage.Children(id)) {
      return differ("the lineage edges of query " + std::to_string(id));
    }
    if (stats_.Encoded(id) != disk.stats.Encoded(id)) {
      return differ("the statistics of query " + std::to_string(id));
    }
  }
  if (child_difficulty_ != disk.child_difficulty) return differ("the children's difficulty");
  const Snapshot live = SnapshotOf(*ix_), stored = SnapshotOf(*disk.ix);
  for (const std::string& d :
       {CompareSet("LOW", live.low, stored.low), CompareSet("HIGH", live.high, stored.high),
        CompareSet("COLD", live.cold, stored.cold),
        CompareSet("IN_FLIGHT", live.in_flight, stored.in_flight),
        CompareSet("ARCHIVED", live.archived, stored.archived),
        CompareSet("PENDING", live.pending, stored.pending)}) {
    if (!d.empty()) return differ(d);
  }
  return Status::OK();
}

}  // namespace heapa
