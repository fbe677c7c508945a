// The rules of CheckPool that tie records together, run after a complete scan
// (pool_check.cc).
#include <algorithm>
#include <string>

#include "index/pool_check_state.h"
#include "storage/keys.h"

namespace heapa::index::check_internal {
namespace {

using storage::DescribeKey;
using storage::QueryState;

std::string Num(double x) { return std::to_string(x); }

// At most this many keys are named for one partition violation.
constexpr size_t kMaxNamed = 100;

}  // namespace

void Checker::CheckIds() {
  const uint64_t end = have_counters_ ? id_limit_ : ids_.size();
  for (uint64_t id = 1; id < end; ++id) {
    const IdInfo none;
    const IdInfo& info = id < ids_.size() ? ids_[id] : none;
    if (!info.has_query) {
      Problem(DescribeKey(storage::QueryKey(id)),
              "missing (ids are dense below next_id " + std::to_string(counters_.next_id) + ")");
    }
    if (!info.has_state) {
      Problem(StateName(id),
              "missing (ids are dense below next_id " + std::to_string(counters_.next_id) + ")");
    }
    if (info.has_stats && !info.has_query) {
      Problem("statistics of query " + std::to_string(id),
              "statistics of a query that does not exist");
    }
    if (info.has_dedup && !info.has_query) {
      Problem(DescribeKey(storage::QueryKey(id)), "missing, but a dedup entry names it");
    }
  }
}

void Checker::CheckPartitions() {
  // The rebuild of Pool::Open, on the states that decoded.
  Status load = index_.FinishLoad();
  if (!load.ok()) {
    for (uint64_t id = 1; id < ids_.size(); ++id) {
      const Entry* e = ids_[id].loaded ? index_.Find(id) : nullptr;
      if (e != nullptr && !e->attached) {
        Problem(StateName(id),
                std::string(storage::QueryStateName(e->state)) + " with seq " +
                    std::to_string(e->seq) +
                    ", the ordering key of another query in that set: left out of the rebuild");
      }
    }
  }
  for (uint8_t s = 0; s <= storage::kMaxQueryState; ++s) {
    const auto state = static_cast<QueryState>(s);
    if (index_.count(state) != report_->per_state[s]) {
      Problem("", "the rebuilt index holds " + std::to_string(index_.count(state)) + " " +
                      std::string(storage::QueryStateName(state)) + " queries; the store has " +
                      std::to_string(report_->per_state[s]));
    }
  }
  if (have_config_ && index_.pooled() > config_.max_size) {
    Problem("", "COLD + LOW + HIGH = " + std::to_string(index_.pooled()) + " exceeds max_size " +
                    std::to_string(config_.max_size));
  }
  if (index_.low().empty() || index_.high().empty()) return;
  const Entry& low_max = *index_.low().rbegin();
  const Entry& high_min = *index_.high().begin();
  if (low_max.reward <= high_min.reward) return;
  // max LOW > min HIGH: name the smaller side, the likelier to be misplaced.
  std::vector<const Entry*> low_above, high_below;
  for (auto it = index_.low().rbegin(); it != index_.low().rend(); ++it) {
    if (it->reward <= high_min.reward) break;
    low_above.push_back(&*it);
  }
  for (auto it = index_.high().begin(); it != index_.high().end(); ++it) {
    if (it->reward >= low_max.reward) break;
    high_below.push_back(&*it);
  }
  const bool name_low = low_above.size() <= high_below.size();
  const std::vector<const Entry*>& named = name_low ? low_above : high_below;
  const Entry& other = name_low ? high_min : low_max;
  for (size_t i = 0; i < named.size() && i < kMaxNamed; ++i) {
    Problem(StateName(named[i]->id),
            std::string(name_low ? "LOW" : "HIGH") + " with reward " + Num(named[i]->reward) +
                (name_low ? " above the HIGH minimum " : " below the LOW maximum ") +
                Num(other.reward) + " (" + StateName(other.id) +
                "): max LOW <= min HIGH does not hold");
  }
  if (named.size() > kMaxNamed) {
    Problem("", std::to_string(named.size() - kMaxNamed) + " more queries on the wrong side");
  }
}

void Checker::CheckLineage() {
  const auto exists = [&](uint64_t id) {
    return id != 0 && id < ids_.size() && ids_[id].has_query;
  };
  for (const auto& [parent, child] : edges_) {
    const std::string key = DescribeKey(storage::EdgeKey(parent, child));
    if (!exists(parent) || !exists(child)) {
      Problem(key, "dangling: " + std::string(!exists(parent) ? "parent " : "child ") +
                       std::to_string(!exists(parent) ? parent : child) + " does not exist");
      continue;
    }
    if (parent >= child) {
      Problem(key, "the parent is not older than the child");
      continue;
    }
    if (ids_[child].bad_query) continue;  // its parents are unknown; already reported
    const auto it = parents_.find(child);
    if (it == parents_.end() ||
        std::find(it->second.begin(), it->second.end(), parent) == it->second.end()) {
      Problem(key,
              "not among the parents that " + DescribeKey(storage::QueryKey(child)) + " lists");
    }
  }
  // edges_ is in key order, i.e. sorted by (parent, child).
  for (const auto& [child, parents] : parents_) {
    for (uint64_t p : parents) {
      if (!std::binary_search(edges_.begin(), edges_.end(), std::make_pair(p, child))) {
        Problem(DescribeKey(storage::QueryKey(child)), "lists parent " + std::to_string(p) +
                                                           " but has no edge " +
                                                           DescribeKey(storage::EdgeKey(p, child)));
      }
    }
  }
}

void Checker::CheckCounters() {
  if (!have_counters_) return;
  const auto mismatch = [&](const char* name, uint64_t stored, uint64_t counted, const char* what) {
    if (stored == counted) return;
    Problem("M/counters", std::string(name) + " is " + std::to_string(stored) + " but " +
                              std::to_string(counted) + " " + what);
  };
  mismatch("next_id - 1", counters_.next_id - 1, report_->queries, "query records exist");
  mismatch("next_id - 1", counters_.next_id - 1, report_->states, "query states exist");
  mismatch("total_added", counters_.total_added, counters_.next_id - 1,
           "queries were created (next_id - 1)");
  mismatch("total_evicted", counters_.total_evicted,
           report_->per_state[static_cast<size_t>(QueryState::kEvicted)], "queries are EVICTED");
  mismatch("total_reports", counters_.total_reports, reports_sum_,
           "reports are recorded in the statistics records");
  if (counters_.next_seq == 0 || counters_.next_lease == 0) {
    Problem("M/counters", "next_seq and next_lease start at 1");
  }
}

}  // namespace heapa::index::check_internal
