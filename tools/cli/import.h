// `heapa insert --file`: JSONL rows into a pool, in batches.
//
// One JSON object per line. Fields (others are ignored):
//   prompt  string, or a chat-message array (stored as its compact JSON text)   required
//   answer  string or number; absent: reward_model.ground_truth (verl), else label (slime)
//   source  string; absent: data_source (verl)
//   reward  number or null: a known reward places the query at once; absent/null: COLD
//   meta    object of strings
//   tokens  array of token ids (0 .. 2^32-1)
// and the rest of a verl/slime row, kept in meta so that `heapa export` writes the row back:
//   ability             string            -> meta "ability"
//   reward_model.style  string            -> meta "reward_model.style"
//   extra_info          object            -> meta "extra_info" (its compact JSON text)
// Blank lines are skipped. Re-importing a file adds nothing: the pool deduplicates by
// (prompt, answer), and the rows already there count as duplicates.
//
// Thread safety: none.
#ifndef HEAPA_TOOLS_CLI_IMPORT_H_
#define HEAPA_TOOLS_CLI_IMPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "index/types.h"
#include "net/client.h"
#include "storage/result.h"
#include "storage/status.h"

namespace heapa::cli {

// The meta keys of the verl/slime fields that have no NewQuery field of their own.
inline constexpr const char* kMetaAbility = "ability";
inline constexpr const char* kMetaRewardStyle = "reward_model.style";
inline constexpr const char* kMetaExtraInfo = "extra_info";

// Fills `out` from one row; InvalidArgument naming the problem. With `require_answer`, a row
// without a ground truth is rejected too (a verifiable-reward row needs one).
Status ParseQueryRow(std::string_view line, NewQuery* out, bool require_answer = false);

struct ImportOptions {
  std::string pool;
  std::string path;               // "-": standard input
  bool strict = false;            // any bad row fails the import before anything is sent
  int64_t step = 0;               // NewQuery::step of every row
  size_t batch = 1000;            // queries per Insert request
  size_t batch_bytes = 8u << 20;  // ... and at most about this many bytes of text per request
  size_t pipeline = 4;            // requests sent back to back (Client::InsertMany)
  bool require_answer = false;    // reject rows without a ground truth (`heapa import`)
  bool progress = false;          // a progress line on stderr (only if it is a terminal)
};

struct ImportSummary {
  uint64_t lines = 0;       // lines read, blank ones included
  uint64_t queries = 0;     // rows sent
  uint64_t created = 0;     // new queries
  uint64_t duplicates = 0;  // rows whose (prompt, answer) was already there
  uint64_t bad_lines = 0;   // rows skipped, each reported on stderr with its line number
  struct Rejected {
    uint64_t line = 0;
    std::string reason;
  };
  std::vector<Rejected> rejected;  // the first 1000 bad rows, in line order
};

// Without `strict`, a bad row is reported on stderr ("heapa: PATH:LINE: reason") and skipped.
// With it, the input is checked first and the first bad row is an InvalidArgument naming its
// line, before any request. A failed request stops the import; its Status names the lines of
// the pipelined group it was sent with. The groups before it stay inserted, and the group's
// other requests may be inserted too (importing the file again adds nothing twice).
Result<ImportSummary> Import(net::Client& client, const ImportOptions& options);

}  // namespace heapa::cli

#endif  // HEAPA_TOOLS_CLI_IMPORT_H_
