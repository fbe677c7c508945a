#include "index/lineage.h"

#include <doctest/doctest.h>

namespace heapa::index {

TEST_SUITE("index/lineage") {
  TEST_CASE("parents, children, ancestors and descendants with a depth cap") {
    LineageGraph g;
    g.AddEdge(1, 2);
    g.AddEdge(1, 3);
    g.AddEdge(2, 4);
    g.AddEdge(3, 4);  // a DAG: 4 has two parents
    g.AddEdge(4, 5);
    CHECK(g.Children(1) == std::vector<uint64_t>{2, 3});
    CHECK(g.Parents(4) == std::vector<uint64_t>{2, 3});
    CHECK(g.Parents(1).empty());
    CHECK(g.Children(99).empty());
    auto anc = g.Ancestors(5, 10);
    REQUIRE(anc.size() == 4);
    CHECK(anc[0].id == 4);
    CHECK(anc[0].depth == 1);
    CHECK(anc[3].id == 1);
    CHECK(anc[3].depth == 3);
    CHECK(g.Ancestors(5, 2).size() == 3);  // 4, 2, 3
    auto desc = g.Descendants(1, 1);
    CHECK(desc.size() == 2);
    CHECK(g.Descendants(1, 10).size() == 4);  // 4 once, at its smallest depth
    CHECK(g.Nodes() == std::vector<uint64_t>{1, 2, 3, 4, 5});
    CHECK(g.edge_count() == 5);
    g.RemoveEdge(3, 4);
    CHECK(g.Parents(4) == std::vector<uint64_t>{2});
    CHECK(g.edge_count() == 4);
  }
}

}  // namespace heapa::index
