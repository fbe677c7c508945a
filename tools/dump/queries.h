// heapa-dump's query listing: one JSON object per line per query, the same object as
// `heapa --json get` prints (tools/cli/format.h QueryInfoJson), in id order.
//
// Thread safety: none.
#ifndef HEAPA_TOOLS_DUMP_QUERIES_H_
#define HEAPA_TOOLS_DUMP_QUERIES_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "storage/records.h"
#include "storage/status.h"
#include "storage/store.h"
#include "tools/dump/progress.h"

namespace heapa::dump {

// Every set criterion must hold (an empty list: any).
struct QueryFilter {
  std::vector<storage::QueryState> states;
  std::optional<double> min_reward;  // inclusive; a query without a reward never matches
  std::optional<double> max_reward;  // inclusive
  std::optional<storage::Origin> origin;
  std::optional<std::string> source;  // exact match
  std::vector<uint64_t> ids;          // only these (unknown ids are NotFound)
  bool with_content = true;           // prompt, answer, meta, tokens
};

// Writes the matching queries to `out`. NotFound for an id of `ids` that does not exist;
// Corruption naming the key of a record that fails verification; IOError when `out` fails.
// Returns after the last line; the number written goes to *written when not null.
Status DumpQueries(const storage::Store& store, const QueryFilter& filter, std::ostream& out,
                   Progress* progress, uint64_t* written = nullptr);

// "LOW" -> kLow (the names of storage::QueryStateName); nullopt for an unknown name.
std::optional<storage::QueryState> ParseStateName(std::string_view name);

}  // namespace heapa::dump

#endif  // HEAPA_TOOLS_DUMP_QUERIES_H_
