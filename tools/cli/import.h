// `heapa insert --file`: JSONL rows into a pool, in batches.
//
// One JSON object per line. Fields (others are ignored):
//   prompt  string, or a chat-message array (stored as its compact JSON text)   required
//   answer  string or number; absent: reward_model.ground_truth (verl), else label (slime)
//   source  string; absent: data_source (verl)
//   reward  number or null: a known reward places the query at once; absent/null: COLD
//   meta    object of strings
//   tokens  array of token ids (0 .. 2^32-1)
// Blank lines are skipped.
//
// Thread safety: none.
#ifndef HEAPA_TOOLS_CLI_IMPORT_H_
#define HEAPA_TOOLS_CLI_IMPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "index/types.h"
#include "net/client.h"
#include "storage/result.h"
#include "storage/status.h"

namespace heapa::cli {

// Fills `out` from one row; InvalidArgument naming the problem.
Status ParseQueryRow(std::string_view line, NewQuery* out);

struct ImportOptions {
  std::string pool;
  std::string path;               // "-": standard input
  bool strict = false;            // any bad row fails the import before anything is sent
  int64_t step = 0;               // NewQuery::step of every row
  size_t batch = 1000;            // queries per Insert request
  size_t batch_bytes = 8u << 20;  // ... and at most about this many bytes of text per request
};

struct ImportSummary {
  uint64_t lines = 0;       // lines read, blank ones included
  uint64_t queries = 0;     // rows sent
  uint64_t created = 0;     // new queries
  uint64_t duplicates = 0;  // rows whose (prompt, answer) was already there
  uint64_t bad_lines = 0;   // rows skipped, each reported on stderr with its line number
};

// Without `strict`, a bad row is reported on stderr ("heapa: PATH:LINE: reason") and skipped.
// With it, the input is checked first and the first bad row is an InvalidArgument naming its
// line, before any request. A failed request stops the import; its Status names the lines of
// the failed batch, and the batches before it stay inserted.
Result<ImportSummary> Import(net::Client& client, const ImportOptions& options);

}  // namespace heapa::cli

#endif  // HEAPA_TOOLS_CLI_IMPORT_H_
