// Refresh against hand-computed values (heapa-algorithm §4.5), to 1e-12.
#include "index/refresh.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>

namespace heapa::index {
namespace {

using storage::PathWeighting;
using storage::RefreshMode;

// A small forest/DAG with values, difficulties and missing nodes.
struct World {
  LineageGraph graph;
  std::map<uint64_t, NodeValue> values;
  std::map<uint64_t, double> difficulty;

  void Node(uint64_t id, std::optional<double> v, double d = 1.0) {
    values[id] = NodeValue{true, v};
    difficulty[id] = d;
  }
  void Missing(uint64_t id) { values[id] = NodeValue{false, std::nullopt}; }

  std::map<uint64_t, double> Run(RefreshMode mode, PathWeighting w = PathWeighting::kSoftmax,
                                 double t = 1.0, bool inverse = false) const {
    RefreshOptions o;
    o.mode = mode;
    o.weighting = w;
    o.temperature = t;
    o.inverse_adjust = inverse;
    auto out = Refresh(
        graph,
        [this](uint64_t id) {
          auto it = values.find(id);
          return it == values.end() ? NodeValue{} : it->second;
        },
        [this](uint64_t id) {
          auto it = difficulty.find(id);
          return it == difficulty.end() ? 1.0 : it->second;
        },
        o);
    return std::map<uint64_t, double>(out.begin(), out.end());
  }
};

// Tree A:  1 (0.2) -> 2 (0.6, d 1.25), 3 (-0.4, d 0.8), 4 (missing)
//          2 -> 5 (1.0), 6 (-1.0, d 2);   4 -> 7 (0.3)
// Tree B:  10 (unscored) -> 11 (0.5), 12 (-0.5, d 1.5)
// Clips:   20 (0.9) -> 21 (1.0, d 0.5);   30 (-0.9) -> 31 (-1.0, d 3)
// DAG:     40 (0.0), 41 (0.4) -> 42 (-0.2)
// Diamond: 50 (0.1) -> 51 (0.3), 52 (unscored); 51 -> 53 (0.8); 52 -> 53
World MakeWorld() {
  World w;
  for (auto [p, c] : std::vector<std::pair<uint64_t, uint64_t>>{{1, 2},
                                                                {1, 3},
                                                                {1, 4},
                                                                {2, 5},
                                                                {2, 6},
                                                                {4, 7},
                                                                {10, 11},
                                                                {10, 12},
                                                                {20, 21},
                                                                {30, 31},
                                                                {40, 42},
                                                                {41, 42},
                                                                {50, 51},
                                                                {50, 52},
                                                                {51, 53},
                                                                {52, 53}}) {
    w.graph.AddEdge(p, c);
  }
  w.Node(1, 0.2);
  w.Node(2, 0.6, 1.25);
  w.Node(3, -0.4, 0.8);
  w.Missing(4);
  w.Node(5, 1.0);
  w.Node(6, -1.0, 2.0);
  w.Node(7, 0.3);
  w.Node(10, std::nullopt);
  w.Node(11, 0.5);
  w.Node(12, -0.5, 1.5);
  w.Node(20, 0.9);
  w.Node(21, 1.0, 0.5);
  w.Node(30, -0.9);
  w.Node(31, -1.0, 3.0);
  w.Node(40, 0.0);
  w.Node(41, 0.4);
  w.Node(42, -0.2);
  w.Node(50, 0.1);
  w.Node(51, 0.3);
  w.Node(52, std::nullopt);
  w.Node(53, 0.8);
  return w;
}

void Expect(const std::map<uint64_t, double>& got, const std::map<uint64_t, double>& want) {
  CHECK(got.size() == want.size());
  for (const auto& node : want) {
    const uint64_t id = node.first;  // not a structured binding: INFO captures it
    INFO("node " << id);
    REQUIRE(got.count(id) == 1);
    CHECK(std::abs(got.at(id) - node.second) < 1e-12);
  }
}

}  // namespace

TEST_SUITE("index/refresh") {
  TEST_CASE("off returns nothing") { CHECK(MakeWorld().Run(RefreshMode::kOff).empty()); }

  TEST_CASE("ChildAgg: mean of adjusted children, blended and clipped") {
    // 2: mean(1/1, -1*2) = -0.5 -> 0.5*0.6 + 0.5*-0.5 = 0.05
    // 1: mean(0.05/1.25, -0.4*0.8) = mean(0.04, -0.32) = -0.14 -> 0.1 - 0.07 = 0.03 (4 missing)
    // 10 unscored: mean(0.5, -0.75) = -0.125 -> -0.125
    // 20: 1/0.5 = 2 -> 0.45 + 1 = 1.45 -> 1;  30: -3 -> -0.45 - 1.5 -> -1
    // 40: -0.2 -> -0.1;  41: 0.2 - 0.1 = 0.1
    // 51: 0.15 + 0.4 = 0.55;  52 unscored: 0.8;  50: mean(0.55, 0.8) -> 0.05 + 0.3375 = 0.3875
    Expect(MakeWorld().Run(RefreshMode::kChild), {{1, 0.03},
                                                  {2, 0.05},
                                                  {10, -0.125},
                                                  {20, 1.0},
                                                  {30, -1.0},
                                                  {40, -0.1},
                                                  {41, 0.1},
                                                  {50, 0.3875},
                                                  {51, 0.55},
                                                  {52, 0.8}});
  }

  TEST_CASE("PathAgg linear weights children by their leaf counts") {
    // L(2) = 2, L(3) = 1: m(1) = 2/3*0.04 + 1/3*-0.32 = -0.08 -> 0.1 - 0.04 = 0.06.
    // Diamond: L(51) = L(52) = 1, equal weights: as ChildAgg. Others have equal L too.
    Expect(MakeWorld().Run(RefreshMode::kPath, PathWeighting::kLinear), {{1, 0.06},
                                                                         {2, 0.05},
                                                                         {10, -0.125},
                                                                         {20, 1.0},
                                                                         {30, -1.0},
                                                                         {40, -0.1},
                                                                         {41, 0.1},
                                                                         {50, 0.3875},
                                                                         {51, 0.55},
                                                                         {52, 0.8}});
  }

  TEST_CASE("PathAgg softmax with T=1 equals linear (B17)") {
    const auto linear = MakeWorld().Run(RefreshMode::kPath, PathWeighting::kLinear);
    Expect(MakeWorld().Run(RefreshMode::kPath, PathWeighting::kSoftmax, 1.0), linear);
  }

  TEST_CASE("PathAgg softmax with T=0.5 sharpens toward the larger subtree") {
    // weights ∝ L^(1/T) = L^2: 4 and 1 -> 0.8, 0.2: m(1) = 0.032 - 0.064 = -0.032
    // -> 0.1 - 0.016 = 0.084.
    Expect(MakeWorld().Run(RefreshMode::kPath, PathWeighting::kSoftmax, 0.5), {{1, 0.084},
                                                                               {2, 0.05},
                                                                               {10, -0.125},
                                                                               {20, 1.0},
                                                                               {30, -1.0},
                                                                               {40, -0.1},
                                                                               {41, 0.1},
                                                                               {50, 0.3875},
                                                                               {51, 0.55},
                                                                               {52, 0.8}});
  }

  TEST_CASE("inverse adjustment (B15) multiplies positive and divides negative values") {
    // 2: mean(1, -1/2) = 0.25 -> 0.3 + 0.125 = 0.425
    // 1: mean(0.425*1.25, -0.4/0.8) = mean(0.53125, -0.5) = 0.015625 -> 0.1078125
    const auto got = MakeWorld().Run(RefreshMode::kChild, PathWeighting::kSoftmax, 1.0, true);
    CHECK(std::abs(got.at(2) - 0.425) < 1e-12);
    CHECK(std::abs(got.at(1) - 0.1078125) < 1e-12);
    CHECK(std::abs(got.at(20) - 0.7) < 1e-12);  // 0.45 + 0.5*(1.0*0.5)
  }

  TEST_CASE("a long chain needs no recursion") {
    LineageGraph g;
    const uint64_t n = 200000;
    for (uint64_t i = 1; i < n; ++i) g.AddEdge(i, i + 1);
    RefreshOptions o;
    o.mode = RefreshMode::kPath;
    auto out = Refresh(
        g,
        [](uint64_t) {
          return NodeValue{true, 0.5};
        },
        [](uint64_t) { return 1.0; }, o);
    CHECK(out.size() == n - 1);
    for (const auto& [id, v] : out) CHECK(v == 0.5);
  }

  TEST_CASE("the child estimate follows §5.2") {
    CHECK(std::abs(EstimateChildReward(0.5, 1.25) - 0.4) < 1e-12);
    CHECK(std::abs(EstimateChildReward(-0.5, 1.25) - -0.625) < 1e-12);
    CHECK(std::abs(EstimateChildReward(std::nullopt, 1.25) - 0.4) < 1e-12);  // unscored: 0.5
    CHECK(EstimateChildReward(2.0, 0.8) == 1.0);                             // clipped twice
    CHECK(EstimateChildReward(0.5, 0.0) == 1.0);                             // d floored at 0.01
    CHECK(std::abs(EstimateChildReward(-2.0, 1.33) - -1.0) < 1e-12);
  }
}

}  // namespace heapa::index
