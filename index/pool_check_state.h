// Internal to index/pool_check*.cc: the state of one CheckPool run. Not part of any API.
//
// Thread safety: none; one Checker per run.
#ifndef HEAPA_INDEX_POOL_CHECK_STATE_H_
#define HEAPA_INDEX_POOL_CHECK_STATE_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "index/frontier.h"
#include "index/pool_check.h"
#include "storage/records.h"
#include "storage/store.h"

namespace heapa::index::check_internal {

// How a problem names the state of a query: "state/42" (states have no key of their own).
std::string StateName(uint64_t id);

// Ids accepted when the counters cannot be read (about 3 GiB of bookkeeping at most).
inline constexpr uint64_t kMaxIdsWithoutCounters = uint64_t{1} << 25;

// What the scan saw of one id.
struct IdInfo {
  std::array<char, 16> dedup_hash{};  // the hash in the key of the dedup entry naming this id
  bool has_query = false;
  bool bad_query = false;  // its 'Q' record failed to decode
  bool has_state = false;  // a state was read (chunk or journal)
  bool loaded = false;     // its state decoded and is in the rebuilt index
  bool has_stats = false;
  bool has_dedup = false;
  bool augmented = false;
};

class Checker {
 public:
  Checker(const storage::Store& store, const CheckOptions& options, CheckReport* report)
      : store_(store), options_(options), report_(report) {}
  // Non-OK only when the store cannot be read at all.
  Status Run();

 private:
  void Problem(std::string key, std::string what);
  // The entry of `id`, named by `key`; nullptr (and a problem) when id is out of range.
  IdInfo* Info(std::string_view key, uint64_t id);

  // pool_check.cc: meta records and the scan.
  // Reads (and checks) the meta records. False when the pool is of an older format this build
  // upgrades on open: the rest would only be a list of what the upgrade changes.
  bool ReadMeta();
  void OnRecord(std::string_view key, std::string_view value);
  void OnQuery(std::string_view key, std::string_view value);
  // The states, merged from chunks and journal (state_log.h), after the scan.
  void ReadStates();
  Status OnState(uint64_t id, const storage::StateRecord& rec);
  // The statistics, merged from their chunks and journal likewise.
  void ReadStatsLog();
  Status OnStats(uint64_t id, const std::string& encoded);
  void OnDedup(std::string_view key, std::string_view value);
  void OnEdge(std::string_view key, std::string_view value);

  // pool_check_rules.cc: the rules across records, after a complete scan.
  void CheckIds();
  void CheckPartitions();
  void CheckLineage();
  void CheckCounters();

  const storage::Store& store_;
  const CheckOptions& options_;
  CheckReport* report_;

  bool have_config_ = false;
  bool have_counters_ = false;
  storage::ConfigRecord config_;
  storage::CountersRecord counters_;
  uint64_t id_limit_ = 1;  // ids must be below this

  std::vector<IdInfo> ids_;
  FrontierIndex index_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> parents_;  // children's 'Q' parents
  std::vector<std::pair<uint64_t, uint64_t>> edges_;             // (parent, child), key order
  uint64_t reports_sum_ = 0;
};

}  // namespace heapa::index::check_internal

#endif  // HEAPA_INDEX_POOL_CHECK_STATE_H_
