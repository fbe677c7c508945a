// Running reward statistics of one query (the 'T' record): Welford mean and variance over
// every rollout ever reported, extremes, and the streak of zero-variance groups.
#ifndef HEAPA_INDEX_RUNNING_STATS_H_
#define HEAPA_INDEX_RUNNING_STATS_H_

#include <cstdint>
#include <span>

#include "storage/records.h"

namespace heapa::index {

// Folds one reported group of rollout rewards into `stats`. REQUIRES: rewards non-empty and
// finite. Sets last_group_mean, last_step, last_report_lease, recent_leases and est_reward
// (= group mean).
void ApplyGroup(std::span<const double> rewards, int64_t step, uint64_t lease,
                storage::StatsRecord* stats);

// The unbiased sample variance over all rollouts; 0 with fewer than two.
double Variance(const storage::StatsRecord& stats);

}  // namespace heapa::index

#endif  // HEAPA_INDEX_RUNNING_STATS_H_
