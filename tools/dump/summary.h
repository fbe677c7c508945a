// heapa-dump's summary: queries per partition, the frontier, the counters, and a histogram of
// the rewards of scored queries (split into LOW, HIGH and the rest), as text or JSON.
//
// Thread safety: none.
#ifndef HEAPA_TOOLS_DUMP_SUMMARY_H_
#define HEAPA_TOOLS_DUMP_SUMMARY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/records.h"
#include "storage/result.h"
#include "storage/store.h"
#include "tools/cli/format.h"
#include "tools/dump/progress.h"

namespace heapa::dump {

struct HistogramBin {
  double lo = 0, hi = 0;  // [lo, hi); the last bin includes hi
  uint64_t low = 0, high = 0, other = 0;
};

struct PoolSummary {
  storage::ConfigRecord config;
  storage::CountersRecord counters;
  std::array<uint64_t, storage::kMaxQueryState + 1> per_state{};
  // Reward ranges of the frontier sets; nullopt when the set is empty.
  std::optional<double> low_min, low_max, high_min, high_max;
  uint64_t scored = 0;  // queries with a reward, in any state
  std::vector<HistogramBin> bins;
};

// Reads every state record. `bins` >= 1; the range is [min_reward, max_reward] unless given.
// Corruption names a bad record.
Result<PoolSummary> Summarize(const storage::Store& store, uint32_t bins,
                              std::optional<double> range_lo, std::optional<double> range_hi,
                              Progress* progress);

std::string SummaryText(const PoolSummary& s);
cli::Json SummaryJson(const PoolSummary& s);

}  // namespace heapa::dump

#endif  // HEAPA_TOOLS_DUMP_SUMMARY_H_
