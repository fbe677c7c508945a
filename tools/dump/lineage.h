// heapa-dump's lineage output: the parent -> child edges of augmented queries, as Graphviz DOT
// or as one JSON document, for the whole forest or the subtree under one query.
//
// Thread safety: none.
#ifndef HEAPA_TOOLS_DUMP_LINEAGE_H_
#define HEAPA_TOOLS_DUMP_LINEAGE_H_

#include <cstdint>
#include <optional>
#include <ostream>

#include "storage/status.h"
#include "storage/store.h"

namespace heapa::dump {

struct LineageOptions {
  enum class Format { kDot, kJson };
  Format format = Format::kDot;
  // The subtree of this query (it and its descendants); nullopt: every query with an edge.
  std::optional<uint64_t> root;
  // With `root`: descendants at most this many edges below it.
  uint32_t max_depth = UINT32_MAX;
};

// Writes the graph. Nodes are labelled with id, state and reward; edges with the child's
// policy difficulty. NotFound when `root` is not a query; Corruption naming a bad record or
// an edge that names a missing query.
Status DumpLineage(const storage::Store& store, const LineageOptions& options, std::ostream& out);

}  // namespace heapa::dump

#endif  // HEAPA_TOOLS_DUMP_LINEAGE_H_
