// Topology-aware re-estimation (heapa-algorithm.md §4.5): a parent's reward is re-estimated
// from its children's, bottom-up by height, with a sign-aware difficulty adjustment, a 0.5
// blend with the parent's own value, and a clip to [-1, 1].
//
//   adj(v, d)  = v / max(d, 1e-6) if v >= 0, else v * max(d, 1e-6)
//   ChildAgg   m = mean over valued children c of adj(v_c, d_c)
//   PathAgg    m = sum of w_c * adj(v_c, d_c), with L(leaf) = 1, L(u) = sum_c max(1, L(c))
//              over all children, and w = L / sum L (linear) or softmax(log(L) / T)
//   new(u)     = m when u has no value, else 0.5 * value(u) + 0.5 * m; then clipped
//
// A child's value is its refreshed value when it was refreshed this pass (it is internal and
// of a lower height), else its own value; children with neither are skipped. Missing nodes
// (evicted, rejected, pending, unknown) are neither refreshed nor used. Leaves never change.
// Iterative and O(V + E).
#ifndef HEAPA_INDEX_REFRESH_H_
#define HEAPA_INDEX_REFRESH_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "index/lineage.h"
#include "storage/records.h"

namespace heapa::index {

struct RefreshOptions {
  storage::RefreshMode mode = storage::RefreshMode::kOff;
  storage::PathWeighting weighting = storage::PathWeighting::kSoftmax;
  double temperature = 1.0;  // softmax only; > 0
  // B15: apply the inverse adjustment on the child -> parent direction (v * d for v >= 0,
  // v / d otherwise) instead of the reference's same-direction adj().
  bool inverse_adjust = false;
};

// What refresh knows of a node: whether it takes part, and its value if it has one.
struct NodeValue {
  bool present = false;         // false: missing (evicted, rejected, pending or unknown)
  std::optional<double> value;  // the reward that places it; absent when unscored
};
using ValueFn = std::function<NodeValue(uint64_t id)>;
using DifficultyFn = std::function<double(uint64_t id)>;

// The refreshed values of every present internal node with at least one valued child,
// ascending by id. Empty when mode is kOff.
std::vector<std::pair<uint64_t, double>> Refresh(const LineageGraph& graph, const ValueFn& value,
                                                 const DifficultyFn& difficulty,
                                                 const RefreshOptions& options);

// The sign-aware adjustment, and the parent -> child estimate of §5.2 that uses it:
// clip(adj(clip(parent, -1, 1), max(d, 0.01))), with 0.5 for an unscored parent.
double AdjustForDifficulty(double v, double d);
double EstimateChildReward(std::optional<double> parent_reward, double policy_difficulty);

}  // namespace heapa::index

#endif  // HEAPA_INDEX_REFRESH_H_
