#include "index/running_stats.h"

#include <algorithm>

namespace heapa::index {

void ApplyGroup(std::span<const double> rewards, int64_t step, uint64_t lease,
                storage::StatsRecord* stats) {
  double group_sum = 0;
  bool constant = true;
  for (double x : rewards) {
    if (stats->rollouts == 0) {
      stats->min = x;
      stats->max = x;
    } else {
      stats->min = std::min(stats->min, x);
      stats->max = std::max(stats->max, x);
    }
    ++stats->rollouts;
    const double delta = x - stats->mean;
    stats->mean += delta / static_cast<double>(stats->rollouts);
    stats->m2 += delta * (x - stats->mean);
    group_sum += x;
    constant = constant && x == rewards[0];
  }
  ++stats->reports;
  stats->zero_variance_streak = constant ? stats->zero_variance_streak + 1 : 0;
  stats->last_step = step;
  stats->last_report_lease = lease;
  stats->recent_leases.push_back(lease);
  if (stats->recent_leases.size() > storage::kRecentLeases) {
    stats->recent_leases.erase(stats->recent_leases.begin());
  }
  stats->last_group_mean = group_sum / static_cast<double>(rewards.size());
  stats->has_est_reward = true;
  stats->est_reward = stats->last_group_mean;
}

double Variance(const storage::StatsRecord& stats) {
  if (stats.rollouts < 2) return 0;
  return stats.m2 / static_cast<double>(stats.rollouts - 1);
}

}  // namespace heapa::index
