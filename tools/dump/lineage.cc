#include "tools/dump/lineage.h"

#include <fmt/core.h>

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "storage/keys.h"
#include "tools/cli/format.h"
#include "tools/dump/pool_view.h"

namespace heapa::dump {
namespace {

std::string RewardText(const storage::StateRecord& s) {
  return s.has_reward ? fmt::format("{:.4g}", s.reward) : "-";
}

}  // namespace

Status DumpLineage(const storage::Store& store, const LineageOptions& options, std::ostream& out) {
  HEAPA_ASSIGN_OR_RETURN(PoolView view,
                         Load(store, LoadParts{.states = true, .edges = true}, nullptr));
  const auto exists = [&](uint64_t id) { return id < view.states.size() && view.states[id]; };
  for (const Edge& e : view.edges) {
    if (!exists(e.parent) || !exists(e.child)) {
      return Status::Corruption("lineage edge " +
                                storage::DescribeKey(storage::EdgeKey(e.parent, e.child)) +
                                " names a missing query");
    }
  }
  // node -> depth below the root (0 for every node of the whole forest).
  std::map<uint64_t, uint32_t> nodes;
  std::vector<const Edge*> edges;
  if (!options.root) {
    for (const Edge& e : view.edges) {
      nodes.emplace(e.parent, 0);
      nodes.emplace(e.child, 0);
      edges.push_back(&e);
    }
  } else {
    if (!exists(*options.root)) {
      return Status::NotFound("query " + std::to_string(*options.root) + " does not exist");
    }
    // view.edges is sorted by parent: the children of p are one range.
    const auto children = [&](uint64_t p) {
      const auto lo = std::lower_bound(view.edges.begin(), view.edges.end(), p,
                                       [](const Edge& e, uint64_t v) { return e.parent < v; });
      auto hi = lo;
      while (hi != view.edges.end() && hi->parent == p) ++hi;
      return std::make_pair(lo, hi);
    };
    nodes.emplace(*options.root, 0);
    std::deque<uint64_t> queue = {*options.root};
    while (!queue.empty()) {
      const uint64_t p = queue.front();
      queue.pop_front();
      const uint32_t depth = nodes.at(p);
      if (depth >= options.max_depth) continue;
      const auto [lo, hi] = children(p);
      for (auto it = lo; it != hi; ++it) {
        edges.push_back(&*it);
        if (nodes.emplace(it->child, depth + 1).second) queue.push_back(it->child);
      }
    }
    std::sort(edges.begin(), edges.end(), [](const Edge* a, const Edge* b) {
      return a->parent < b->parent || (a->parent == b->parent && a->child < b->child);
    });
  }

  if (options.format == LineageOptions::Format::kJson) {
    cli::Json j = {{"root", options.root ? cli::Json(*options.root) : cli::Json(nullptr)},
                   {"nodes", cli::Json::array()},
                   {"edges", cli::Json::array()}};
    for (const auto& [id, depth] : nodes) {
      const storage::StateRecord& s = *view.states[id];
      cli::Json n = {{"id", id},
                     {"state", storage::QueryStateName(s.state)},
                     {"reward", s.has_reward ? cli::Json(s.reward) : cli::Json(nullptr)}};
      if (options.root) n["depth"] = depth;
      j["nodes"].push_back(std::move(n));
    }
    for (const Edge* e : edges) {
      j["edges"].push_back(
          {{"parent", e->parent}, {"child", e->child}, {"policy_difficulty", e->policy_difficulty}});
    }
    out << cli::Dump(j) << '\n';
  } else {
    out << "digraph lineage {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n";
    for (const auto& [id, depth] : nodes) {
      const storage::StateRecord& s = *view.states[id];
      out << fmt::format("  q{} [label=\"{}\\n{} {}\"{}];\n", id, id,
                         storage::QueryStateName(s.state), RewardText(s),
                         options.root && id == *options.root ? ", style=bold" : "");
    }
    for (const Edge* e : edges) {
      out << fmt::format("  q{} -> q{} [label=\"{:.4g}\"];\n", e->parent, e->child,
                         e->policy_difficulty);
    }
    out << "}\n";
  }
  if (!out) return Status::IOError("cannot write the output");
  return Status::OK();
}

}  // namespace heapa::dump
