// `heapa export`: a pool back into JSONL, one verl/slime row per query (the format `heapa
// import` reads), with the pool's view of each query under "heapa":
//
//   {"data_source": ..., "prompt": [messages] or "text", "ability": ...,
//    "reward_model": {"style": ..., "ground_truth": ...}, "extra_info": {...},
//    "meta": {...},                       (meta entries not from a verl field, if any)
//    "heapa": {"id", "state", "reward", "origin", "parents", "times_sampled",
//              "stats": {"reports", "rollouts", "mean", "variance", "min", "max", ...}}}
//
// A prompt stored from a message list (a JSON array of objects) is written back as that list.
// Importing an export into the same pool adds nothing; into an empty pool it adds every row.
//
// Thread safety: none.
#ifndef HEAPA_TOOLS_CLI_EXPORT_H_
#define HEAPA_TOOLS_CLI_EXPORT_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "index/types.h"
#include "net/client.h"
#include "storage/result.h"
#include "tools/cli/format.h"

namespace heapa::cli {

// The row of one query.
Json ExportRow(const QueryInfo& info);

struct ExportOptions {
  std::string pool;
  bool include_terminal = false;  // also EVICTED and REJECTED queries
  bool progress = false;          // a progress line on stderr (only if it is a terminal)
};

struct ExportSummary {
  uint64_t rows = 0;     // written
  uint64_t skipped = 0;  // EVICTED / REJECTED left out
};

// Reads every query of the pool (one Get per id, ids 1 .. total_added) and writes its row.
// IOError when `out` fails; the client's errors otherwise.
Result<ExportSummary> Export(net::Client& client, const ExportOptions& options, std::ostream& out);

}  // namespace heapa::cli

#endif  // HEAPA_TOOLS_CLI_EXPORT_H_
