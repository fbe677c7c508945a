#include "index/lineage.h"

#include <algorithm>
#include <deque>
#include <unordered_set>

#include "storage/check.h"

namespace heapa::index {
namespace {

const std::vector<uint64_t>& Lookup(const std::unordered_map<uint64_t, std::vector<uint64_t>>& m,
                                    uint64_t id) {
  static const std::vector<uint64_t> kEmpty;
  auto it = m.find(id);
  return it == m.end() ? kEmpty : it->second;
}

void Erase(std::unordered_map<uint64_t, std::vector<uint64_t>>* m, uint64_t key, uint64_t value) {
  auto it = m->find(key);
  if (it == m->end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), value), v.end());
  if (v.empty()) m->erase(it);
}

}  // namespace

namespace {
// Adjacency lists are kept ascending, so that the order does not depend on insertion order
// (the rebuild from the 'E' scan sees edges in key order).
bool InsertSorted(std::vector<uint64_t>* v, uint64_t x) {
  auto it = std::lower_bound(v->begin(), v->end(), x);
  if (it != v->end() && *it == x) return false;
  v->insert(it, x);
  return true;
}
}  // namespace

void LineageGraph::AddEdge(uint64_t parent, uint64_t child) {
  HEAPA_CHECK(InsertSorted(&children_[parent], child));
  HEAPA_CHECK(InsertSorted(&parents_[child], parent));
  ++edges_;
}

void LineageGraph::RemoveEdge(uint64_t parent, uint64_t child) {
  const auto& kids = Lookup(children_, parent);
  if (std::find(kids.begin(), kids.end(), child) == kids.end()) return;
  Erase(&children_, parent, child);
  Erase(&parents_, child, parent);
  --edges_;
}

const std::vector<uint64_t>& LineageGraph::Children(uint64_t id) const {
  return Lookup(children_, id);
}

const std::vector<uint64_t>& LineageGraph::Parents(uint64_t id) const {
  return Lookup(parents_, id);
}

std::vector<LineageNode> LineageGraph::Walk(uint64_t id, uint32_t max_depth, bool up) const {
  std::vector<LineageNode> out;
  std::unordered_set<uint64_t> seen{id};
  std::deque<LineageNode> queue{{id, 0}};
  while (!queue.empty()) {
    const LineageNode n = queue.front();
    queue.pop_front();
    if (n.depth >= max_depth) continue;
    for (uint64_t next : up ? Parents(n.id) : Children(n.id)) {
      if (!seen.insert(next).second) continue;
      out.push_back({next, n.depth + 1});
      queue.push_back({next, n.depth + 1});
    }
  }
  return out;
}

std::vector<LineageNode> LineageGraph::Ancestors(uint64_t id, uint32_t max_depth) const {
  return Walk(id, max_depth, /*up=*/true);
}

std::vector<LineageNode> LineageGraph::Descendants(uint64_t id, uint32_t max_depth) const {
  return Walk(id, max_depth, /*up=*/false);
}

std::vector<uint64_t> LineageGraph::Nodes() const {
  std::vector<uint64_t> ids;
  ids.reserve(children_.size() + parents_.size());
  for (const auto& [id, kids] : children_) ids.push_back(id);
  for (const auto& [id, ps] : parents_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace heapa::index
