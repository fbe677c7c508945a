// index::LineageGraph: the parent -> child edges of a pool, in memory, for traversal and
// refresh. Rebuilt on open from the 'E' records; an edge is written with its child, so the
// graph is acyclic by construction (a child's parents all exist before it).
//
// Only queries with edges take memory. Traversals are iterative (no recursion limit).
//
// Thread safety: none; the pool's lock guards it.
#ifndef HEAPA_INDEX_LINEAGE_H_
#define HEAPA_INDEX_LINEAGE_H_

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace heapa::index {

struct LineageNode {
  uint64_t id = 0;
  uint32_t depth = 0;  // 1 = a direct parent or child
};

class LineageGraph {
 public:
  // Adds parent -> child. REQUIRES: not present yet.
  void AddEdge(uint64_t parent, uint64_t child);
  // Removes parent -> child if present (used to undo a failed write).
  void RemoveEdge(uint64_t parent, uint64_t child);

  // Direct neighbours, ascending by id; empty when none.
  const std::vector<uint64_t>& Children(uint64_t id) const;
  const std::vector<uint64_t>& Parents(uint64_t id) const;

  // Breadth-first, nearest first, each node once at its smallest depth; depth <= max_depth.
  std::vector<LineageNode> Ancestors(uint64_t id, uint32_t max_depth) const;
  std::vector<LineageNode> Descendants(uint64_t id, uint32_t max_depth) const;

  // Every id that has a parent or a child, ascending.
  std::vector<uint64_t> Nodes() const;
  size_t edge_count() const { return edges_; }

 private:
  std::vector<LineageNode> Walk(uint64_t id, uint32_t max_depth, bool up) const;

  std::unordered_map<uint64_t, std::vector<uint64_t>> children_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> parents_;
  size_t edges_ = 0;
};

}  // namespace heapa::index

#endif  // HEAPA_INDEX_LINEAGE_H_
