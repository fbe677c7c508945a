// The JSON line of one query in heapa-dump, written directly: byte for byte what
// cli::Dump(cli::QueryInfoJson(info)) gives (tests/tools/dump_test.cc checks it), about ten
// times faster, which a million-query dump needs.
//
// Thread safety: stateless.
#ifndef HEAPA_TOOLS_DUMP_QUERY_LINE_H_
#define HEAPA_TOOLS_DUMP_QUERY_LINE_H_

#include <string>

#include "index/types.h"

namespace heapa::dump {

// Appends the line (without a newline). Without `with_content`, prompt, answer, meta and
// tokens are left out.
void AppendQueryLine(const QueryInfo& info, bool with_content, std::string* out);

}  // namespace heapa::dump

#endif  // HEAPA_TOOLS_DUMP_QUERY_LINE_H_
