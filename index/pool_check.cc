// The scan of CheckPool: one pass over every key, record by record. The rules that tie records
// together run afterwards, in pool_check_rules.cc.
#include "index/pool_check.h"

#include <string_view>

#include "index/pool_check_state.h"
#include "storage/format_upgrade.h"
#include "storage/keys.h"
#include "storage/state_log.h"

namespace heapa::index {
namespace check_internal {

using storage::DescribeKey;
using storage::KeyFamily;

void Checker::Problem(std::string key, std::string what) {
  ++report_->problem_count;
  if (report_->problems.size() < options_.max_problems) {
    report_->problems.push_back({std::move(key), std::move(what)});
  }
}

IdInfo* Checker::Info(std::string_view key, uint64_t id) {
  if (id == 0 || id >= id_limit_) {
    Problem(DescribeKey(key), "names query " + std::to_string(id) + ", outside 1.." +
                                  std::to_string(id_limit_ - 1) + " (counters.next_id " +
                                  std::to_string(counters_.next_id) + ")");
    return nullptr;
  }
  if (id >= ids_.size()) ids_.resize(std::max<size_t>(id + 1, ids_.size() * 2));
  return &ids_[id];
}

bool Checker::ReadMeta() {
  bool upgradable = false;
  std::string value;
  const auto read = [&](std::string_view name) -> bool {
    const std::string key = storage::MetaKey(name);
    Status s = store_.Get(key, &value);
    if (s.code() == Status::Code::kNotFound) {
      Problem(DescribeKey(key), "missing");
      return false;
    }
    if (!s.ok()) {
      Problem(DescribeKey(key), std::string(s.message()));
      return false;
    }
    return true;
  };
  if (read("format")) {
    uint32_t version = 0;
    Status s = storage::DecodeFormat(value, &version);
    if (s.ok()) report_->format_version = version;
    if (!s.ok()) {
      Problem("M/format", std::string(s.message()));
    } else if (storage::ReadsFormatAsIs(version)) {
      // Checked in full below.
    } else if (storage::CanUpgradeFormat(version)) {
      report_->upgrade_from = version;  // a verdict of its own, not a problem
      upgradable = true;
    } else {
      Problem("M/format", "format version " + std::to_string(version) + "; this build reads " +
                              std::to_string(storage::kFormatVersion));
    }
  }
  if (read("config")) {
    Status s = storage::DecodeConfig(value, &config_);
    have_config_ = s.ok();
    if (!s.ok()) Problem("M/config", std::string(s.message()));
  }
  if (read("counters")) {
    Status s = storage::DecodeCounters(value, &counters_);
    have_counters_ = s.ok();
    if (!s.ok()) Problem("M/counters", std::string(s.message()));
  }
  // Without trustworthy counters, ids are bounded only by what memory allows.
  id_limit_ = have_counters_ ? counters_.next_id : kMaxIdsWithoutCounters;
  if (have_counters_ && counters_.next_id == 0) {
    Problem("M/counters", "next_id is 0 (ids start at 1)");
    id_limit_ = 1;
  }
  return !upgradable;
}

void Checker::OnQuery(std::string_view key, std::string_view value) {
  ++report_->queries;
  const std::optional<uint64_t> id = storage::DecodeIdKey(KeyFamily::kQuery, key);
  if (!id) return Problem(DescribeKey(key), "malformed query key");
  IdInfo* info = Info(key, *id);
  if (info == nullptr) return;
  info->has_query = true;
  storage::QueryRecord rec;
  if (Status s = storage::DecodeQuery(value, &rec); !s.ok()) {
    info->bad_query = true;
    return Problem(DescribeKey(key), std::string(s.message()));
  }
  info->augmented = rec.origin == storage::Origin::kAugmented;
  if (!rec.parents.empty()) {
    if (!info->augmented) Problem(DescribeKey(key), "a seed query with parents");
    for (uint64_t p : rec.parents) {
      if (p == 0 || p >= *id) {
        Problem(DescribeKey(key), "parent " + std::to_string(p) + " is not older than the query");
      }
    }
    parents_[*id] = std::move(rec.parents);
  }
  // H keys sort before Q keys: the dedup entry naming this id has been read already.
  const std::string dedup = storage::DedupKey(storage::ContentHash(rec.prompt, rec.answer));
  if (!info->has_dedup) {
    Problem(DescribeKey(key), "no dedup entry (expected " + DescribeKey(dedup) + ")");
  } else if (std::string_view(dedup).substr(1) !=
             std::string_view(info->dedup_hash.data(), info->dedup_hash.size())) {
    Problem(DescribeKey(key), "its dedup entry " +
                                  DescribeKey("H" + std::string(info->dedup_hash.data(), 16)) +
                                  " is not the hash of its content (" + DescribeKey(dedup) + ")");
  }
}

std::string StateName(uint64_t id) { return "state/" + std::to_string(id); }

Status Checker::OnState(uint64_t id, const storage::StateRecord& rec) {
  ++report_->states;
  const std::string where = StateName(id);
  IdInfo* info =
      Info(storage::StateChunkKey(storage::StateChunkFirstId(storage::StateChunkOf(id))), id);
  if (info == nullptr) return Status::OK();  // ReadStates visits only ids below id_limit_
  info->has_state = true;
  ++report_->per_state[static_cast<size_t>(rec.state)];
  if (have_counters_ && rec.seq >= counters_.next_seq) {
    Problem(where, "seq " + std::to_string(rec.seq) + " not yet issued (next_seq " +
                       std::to_string(counters_.next_seq) + ")");
  }
  if (have_counters_ && rec.lease >= counters_.next_lease) {
    Problem(where, "lease " + std::to_string(rec.lease) + " not yet issued (next_lease " +
                       std::to_string(counters_.next_lease) + ")");
  }
  using storage::QueryState;
  if (rec.state == QueryState::kInFlight && rec.prev_state != QueryState::kCold &&
      rec.prev_state != QueryState::kLow && rec.prev_state != QueryState::kHigh) {
    Problem(where,
            "IN_FLIGHT would return to " + std::string(storage::QueryStateName(rec.prev_state)));
  }
  if (rec.state == QueryState::kCold && rec.has_reward) {
    Problem(where, "COLD with a reward (COLD holds unscored queries)");
  }
  if (rec.state == QueryState::kArchived && !rec.has_reward) {
    Problem(where, "ARCHIVED without a reward");
  }
  info->loaded = true;
  index_.Load(id, rec);
  return Status::OK();
}

void Checker::ReadStates() {
  Status read = storage::ReadStates(
      store_, id_limit_, have_counters_ ? counters_.durable_seq : UINT64_MAX,
      [this](uint64_t id, const storage::StateRecord& rec) { return OnState(id, rec); },
      [this](std::string_view key, const Status& error) {
        Problem(DescribeKey(key), std::string(error.message()));
        return Status::OK();
      });
  if (!read.ok()) Problem("", "the read of the states stopped: " + read.ToString());
}

void Checker::ReadStatsLog() {
  Status read = storage::ReadLog<storage::StatsLogTraits>(
      store_, id_limit_, have_counters_ ? counters_.durable_seq : UINT64_MAX,
      [this](uint64_t id, const std::string& encoded) { return OnStats(id, encoded); },
      [this](std::string_view key, const Status& error) {
        Problem(DescribeKey(key), std::string(error.message()));
        return Status::OK();
      });
  if (!read.ok()) Problem("", "the read of the statistics stopped: " + read.ToString());
}

Status Checker::OnStats(uint64_t id, const std::string& encoded) {
  ++report_->stats;
  const std::string where = "statistics of query " + std::to_string(id);
  IdInfo* info = Info(where, id);
  if (info == nullptr) return Status::OK();
  info->has_stats = true;
  storage::StatsRecord rec;
  if (Status s = storage::DecodeStats(encoded, &rec); !s.ok()) {  // verified by the log's read
    Problem(where, std::string(s.message()));
    return Status::OK();
  }
  reports_sum_ += rec.reports;
  if (rec.rollouts > 0 && !(rec.min <= rec.mean && rec.mean <= rec.max)) {
    Problem(where, "mean " + std::to_string(rec.mean) + " outside [min " + std::to_string(rec.min) +
                       ", max " + std::to_string(rec.max) + "]");
  }
  if (rec.reports > rec.rollouts) Problem(where, "more reports than rollouts");
  return Status::OK();
}

void Checker::OnDedup(std::string_view key, std::string_view value) {
  ++report_->dedup;
  if (key.size() != 17) return Problem(DescribeKey(key), "malformed dedup key");
  uint64_t id = 0;
  if (Status s = storage::DecodeDedup(value, &id); !s.ok()) {
    return Problem(DescribeKey(key), std::string(s.message()));
  }
  IdInfo* info = Info(key, id);
  if (info == nullptr) return;
  if (info->has_dedup) {
    return Problem(DescribeKey(key), "a second dedup entry for query " + std::to_string(id));
  }
  info->has_dedup = true;
  std::copy(key.begin() + 1, key.end(), info->dedup_hash.begin());
}

void Checker::OnEdge(std::string_view key, std::string_view value) {
  ++report_->edges;
  uint64_t parent = 0, child = 0;
  if (!storage::DecodeEdgeKey(key, &parent, &child)) {
    return Problem(DescribeKey(key), "malformed edge key");
  }
  double difficulty = 0;
  if (Status s = storage::DecodeEdge(value, &difficulty); !s.ok()) {
    return Problem(DescribeKey(key), std::string(s.message()));
  }
  edges_.push_back({parent, child});
}

void Checker::OnRecord(std::string_view key, std::string_view value) {
  if (++report_->keys % 65536 == 0 && options_.progress) options_.progress(report_->keys);
  switch (key.empty() ? '\0' : key[0]) {
    case static_cast<char>(KeyFamily::kMeta): {
      const std::string_view name = key.substr(1);
      if (name != "format" && name != "config" && name != "counters") {
        Problem(DescribeKey(key), "unknown meta record");
      }
      return;  // read (and checked) by ReadMeta
    }
    case static_cast<char>(KeyFamily::kQuery):
      return OnQuery(key, value);
    case static_cast<char>(KeyFamily::kStateChunk):
    case static_cast<char>(KeyFamily::kJournal):
      return;  // read by ReadStates, which merges the two
    case static_cast<char>(KeyFamily::kStatsChunk):
    case static_cast<char>(KeyFamily::kStatsJournal):
      return;  // read by ReadStatsLog, likewise
    case static_cast<char>(KeyFamily::kStats):
      return Problem(DescribeKey(key),
                     "statistics of format 4, which format 5 keeps in chunks: the upgrade to "
                     "format 5 should have moved it");
    case static_cast<char>(KeyFamily::kDedup):
      return OnDedup(key, value);
    case static_cast<char>(KeyFamily::kEdge):
      return OnEdge(key, value);
    case static_cast<char>(KeyFamily::kRequest): {
      ++report_->requests;
      storage::OpResultRecord rec;
      if (key.size() != 17) return Problem(DescribeKey(key), "malformed request key");
      if (Status s = storage::DecodeOpResult(value, &rec); !s.ok()) {
        Problem(DescribeKey(key), std::string(s.message()));
      }
      return;
    }
    default:
      return Problem(DescribeKey(key), "a key of no known family");
  }
}

Status Checker::Run() {
  if (!ReadMeta()) return Status::OK();
  Status scan = store_.Scan("", [this](std::string_view key, std::string_view value) {
    OnRecord(key, value);
    return Status::OK();
  });
  if (options_.progress) options_.progress(report_->keys);
  if (scan.code() == Status::Code::kUnavailable) return scan;  // the store is closed
  report_->scan_complete = scan.ok();
  if (!scan.ok()) {
    Problem("", "the scan stopped: " + scan.ToString());
    return Status::OK();
  }
  ReadStates();
  ReadStatsLog();
  CheckIds();
  CheckPartitions();
  CheckLineage();
  CheckCounters();
  return Status::OK();
}

}  // namespace check_internal

Result<CheckReport> CheckPool(const storage::Store& store, const CheckOptions& options) {
  CheckReport report;
  check_internal::Checker checker(store, options, &report);
  HEAPA_RETURN_IF_ERROR(checker.Run());
  return report;
}

}  // namespace heapa::index
