#include "index/refresh.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

namespace heapa::index {
namespace {

double Clip(double v) { return std::clamp(v, -1.0, 1.0); }

double InverseAdjust(double v, double d) {
  const double dd = std::max(d, 1e-6);
  return v >= 0 ? v * dd : v / dd;
}

struct NodeInfo {
  uint32_t height = 0;
  double leaves = 1;  // L(u)
  size_t pending_children = 0;
};

}  // namespace

double AdjustForDifficulty(double v, double d) {
  const double dd = std::max(d, 1e-6);
  return v >= 0 ? v / dd : v * dd;
}

double EstimateChildReward(std::optional<double> parent_reward, double policy_difficulty) {
  const double base = parent_reward && std::isfinite(*parent_reward) ? Clip(*parent_reward) : 0.5;
  return Clip(AdjustForDifficulty(base, std::max(policy_difficulty, 0.01)));
}

std::vector<std::pair<uint64_t, double>> Refresh(const LineageGraph& graph, const ValueFn& value,
                                                 const DifficultyFn& difficulty,
                                                 const RefreshOptions& options) {
  std::vector<std::pair<uint64_t, double>> result;
  if (options.mode == storage::RefreshMode::kOff) return result;

  // Heights and leaf counts bottom-up (Kahn's algorithm from the leaves).
  const std::vector<uint64_t> nodes = graph.Nodes();
  std::unordered_map<uint64_t, NodeInfo> info;
  info.reserve(nodes.size());
  std::vector<uint64_t> ready;
  for (uint64_t id : nodes) {
    NodeInfo& n = info[id];
    n.pending_children = graph.Children(id).size();
    if (n.pending_children == 0) ready.push_back(id);
  }
  std::vector<uint64_t> order;  // children before parents
  order.reserve(nodes.size());
  while (!ready.empty()) {
    const uint64_t id = ready.back();
    ready.pop_back();
    order.push_back(id);
    for (uint64_t parent : graph.Parents(id)) {
      NodeInfo& p = info[parent];
      p.height = std::max(p.height, info[id].height + 1);
      if (--p.pending_children == 0) ready.push_back(parent);
    }
  }
  uint32_t max_height = 0;
  for (uint64_t id : order) {
    NodeInfo& n = info[id];
    const auto& kids = graph.Children(id);
    if (!kids.empty()) {
      n.leaves = 0;
      for (uint64_t c : kids) n.leaves += std::max(1.0, info[c].leaves);
    }
    max_height = std::max(max_height, n.height);
  }
  std::vector<std::vector<uint64_t>> by_height(max_height + 1);
  for (uint64_t id : nodes) by_height[info[id].height].push_back(id);

  std::map<uint64_t, double> out;
  std::vector<double> vals, weights;
  for (uint32_t h = 1; h <= max_height; ++h) {
    for (uint64_t u : by_height[h]) {
      const NodeValue own = value(u);
      if (!own.present) continue;
      vals.clear();
      weights.clear();
      for (uint64_t c : graph.Children(u)) {
        const NodeValue child = value(c);
        if (!child.present) continue;
        auto refreshed = out.find(c);
        if (refreshed == out.end() && !child.value) continue;
        const double v = refreshed != out.end() ? refreshed->second : *child.value;
        const double d = difficulty(c);
        vals.push_back(options.inverse_adjust ? InverseAdjust(v, d) : AdjustForDifficulty(v, d));
        const double leaves = info[c].leaves;
        weights.push_back(options.weighting == storage::PathWeighting::kLinear
                              ? leaves
                              : std::log(leaves) / options.temperature);
      }
      if (vals.empty()) continue;
      double m = 0;
      if (options.mode == storage::RefreshMode::kChild) {
        for (double v : vals) m += v;
        m /= static_cast<double>(vals.size());
      } else if (options.weighting == storage::PathWeighting::kLinear) {
        double sum = 0;
        for (double w : weights) sum += w;
        for (size_t i = 0; i < vals.size(); ++i) {
          const double w = sum > 0 ? weights[i] / sum : 1.0 / static_cast<double>(vals.size());
          m += w * vals[i];
        }
      } else {
        const double top = *std::max_element(weights.begin(), weights.end());
        double sum = 0;
        for (double& w : weights) {
          w = std::exp(w - top);
          sum += w;
        }
        for (size_t i = 0; i < vals.size(); ++i) m += weights[i] / sum * vals[i];
      }
      out[u] = Clip(own.value ? 0.5 * *own.value + 0.5 * m : m);
    }
  }
  result.assign(out.begin(), out.end());
  return result;
}

}  // namespace heapa::index
