// heapa-dump's readers (tools/dump/) on a known pool.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "storage/pool_locator.h"
#include "tests/testutil/old_formats.h"
#include "tests/testutil/sample_pool.h"
#include "tests/testutil/store_util.h"
#include "tests/testutil/test_util.h"
#include "tools/cli/format.h"
#include "tools/dump/lineage.h"
#include "tools/dump/plot.h"
#include "tools/dump/queries.h"
#include "tools/dump/summary.h"

namespace heapa {
namespace {

using testing::TempDir;

std::unique_ptr<storage::Store> OpenReadOnly(const std::string& dir) {
  Result<std::unique_ptr<storage::Store>> store = storage::OpenLiveReadOnly(dir);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A filter built by `set` (designated initializers would need every field).
template <typename Fn>
dump::QueryFilter Filter(Fn set) {
  dump::QueryFilter f;
  set(f);
  return f;
}

std::string Dump(const storage::Store& store, const dump::QueryFilter& filter) {
  std::ostringstream out;
  HEAPA_REQUIRE_OK(dump::DumpQueries(store, filter, out, nullptr));
  return out.str();
}

}  // namespace

TEST_SUITE("tools/dump") {
  TEST_CASE("the query dump of a known pool is what the pool itself returns") {
    TempDir dir;
    const testing::SamplePoolIds ids = testing::BuildSamplePool(dir.path());
    // The expected lines come from Pool::Get, a path that shares no code with the dump.
    std::vector<std::string> expected;
    {
      PoolOptions options;
      auto pool = Pool::Open(dir.path(), options);
      REQUIRE(pool.ok());
      for (QueryId id = 1; id <= 18; ++id) {
        Result<QueryInfo> info = (*pool)->Get(id);
        REQUIRE(info.ok());
        expected.push_back(cli::Dump(cli::QueryInfoJson(*info)));
      }
    }
    auto store = OpenReadOnly(dir.path());
    const std::vector<std::string> lines = Lines(Dump(*store, {}));
    REQUIRE(lines.size() == expected.size());
    for (size_t i = 0; i < lines.size(); ++i) CHECK(lines[i] == expected[i]);

    // Hand-known facts of the pool.
    const cli::Json reported = cli::Json::parse(lines[ids.reported - 1]);
    CHECK(reported["state"] == "ARCHIVED");
    CHECK(reported["reward"].get<double>() == doctest::Approx(2.0 / 3.0));
    CHECK(reported["stats"]["rollouts"] == 3);
    const cli::Json child = cli::Json::parse(lines[ids.child - 1]);
    CHECK(child["origin"] == "augmented");
    CHECK(child["parents"] == cli::Json::array({ids.reported}));
    CHECK(child["prompt"] == "child");
    CHECK(cli::Json::parse(lines[0])["prompt"] == "q0");
  }

  TEST_CASE("a pool of an older format is refused with its format named, never misread") {
    TempDir dir;
    testing::BuildSamplePool(dir.path());
    {
      std::unique_ptr<storage::Store> store = testing::OpenRawStore(dir.path());
      REQUIRE(testing::RewriteAsFormat4(*store) > 0);  // statistics as 'T' records
      HEAPA_REQUIRE_OK(store->Close());
    }
    auto store = OpenReadOnly(dir.path());
    for (const bool by_ids : {false, true}) {
      CAPTURE(by_ids);
      std::ostringstream out;
      const Status s = dump::DumpQueries(
          *store, Filter([&](auto& f) { f.ids = by_ids ? std::vector<uint64_t>{1} : f.ids; }), out,
          nullptr);
      CHECK(s.code() == Status::Code::kFailedPrecondition);
      CHECK(s.ToString().find("format 4") != std::string::npos);
      CHECK(out.str().empty());
    }
  }

  TEST_CASE("a pool of format 5 (the records of 6) dumps as it is") {
    TempDir dir;
    testing::BuildSamplePool(dir.path());
    std::string current;
    {
      auto store = OpenReadOnly(dir.path());
      current = Dump(*store, dump::QueryFilter{});
    }
    {
      std::unique_ptr<storage::Store> store = testing::OpenRawStore(dir.path());
      testing::SetFormatVersion(*store, 5);
      HEAPA_REQUIRE_OK(store->Close());
    }
    auto store = OpenReadOnly(dir.path());
    CHECK_FALSE(current.empty());
    CHECK(Dump(*store, dump::QueryFilter{}) == current);
  }

  TEST_CASE("the query dump filters by state, reward, origin, source and ids") {
    TempDir dir;
    const testing::SamplePoolIds ids = testing::BuildSamplePool(dir.path());
    auto store = OpenReadOnly(dir.path());
    for (const std::string& line :
         Lines(Dump(*store, Filter([](auto& f) { f.states = {QueryState::kLow}; })))) {
      CHECK(cli::Json::parse(line)["state"] == "LOW");
    }
    const auto rewards = Lines(Dump(*store, Filter([](auto& f) {
      f.min_reward = 0.3;
      f.max_reward = 0.5;
    })));
    REQUIRE_FALSE(rewards.empty());
    for (const std::string& line : rewards) {
      const double r = cli::Json::parse(line)["reward"].get<double>();
      CHECK((r >= 0.3 && r <= 0.5));
    }
    CHECK(Lines(Dump(*store, Filter([](auto& f) {
            f.origin = storage::Origin::kAugmented;
          }))).size() == 2);
    CHECK(Lines(Dump(*store, Filter([](auto& f) { f.source = "test"; }))).size() == 16);
    const auto two = Lines(Dump(*store, Filter([&](auto& f) {
      f.ids = {ids.child, 1};
      f.with_content = false;
    })));
    REQUIRE(two.size() == 2);
    CHECK(cli::Json::parse(two[0])["id"] == ids.child);
    CHECK_FALSE(cli::Json::parse(two[0]).contains("prompt"));
    std::ostringstream out;
    CHECK(dump::DumpQueries(*store, Filter([](auto& f) { f.ids = {999}; }), out, nullptr).code() ==
          Status::Code::kNotFound);
  }

  TEST_CASE("the lineage dump is DOT that Graphviz renders, or JSON, with a depth cap") {
    TempDir dir;
    const testing::SamplePoolIds ids = testing::BuildSamplePool(dir.path());
    auto store = OpenReadOnly(dir.path());
    std::ostringstream dot;
    HEAPA_REQUIRE_OK(dump::DumpLineage(*store, {}, dot));
    const std::string r = std::to_string(ids.reported), c = std::to_string(ids.child),
                      g = std::to_string(ids.rejected);
    CHECK(dot.str().find("q" + r + " -> q" + c + " ") != std::string::npos);
    CHECK(dot.str().find("q" + c + " -> q" + g + " ") != std::string::npos);
    const std::string path = dir.Sub("lineage.dot");
    std::ofstream(path) << dot.str();
    // Graphviz is a test dependency (.ci/install-deps): the DOT must parse and render.
    const int rc = std::system(("dot -Tsvg '" + path + "' -o '" + dir.Sub("l.svg") + "'").c_str());
    CHECK(rc == 0);

    std::ostringstream json;
    dump::LineageOptions subtree;
    subtree.format = dump::LineageOptions::Format::kJson;
    subtree.root = ids.child;
    HEAPA_REQUIRE_OK(dump::DumpLineage(*store, subtree, json));
    const cli::Json j = cli::Json::parse(json.str());
    REQUIRE(j["nodes"].size() == 2);
    CHECK(j["nodes"][1]["state"] == "REJECTED");
    CHECK(j["nodes"][1]["depth"] == 1);
    CHECK(j["edges"].size() == 1);
    CHECK(j["edges"][0]["policy_difficulty"] == 0.5);

    std::ostringstream capped;
    subtree.root = ids.reported;
    subtree.max_depth = 0;
    HEAPA_REQUIRE_OK(dump::DumpLineage(*store, subtree, capped));
    CHECK(cli::Json::parse(capped.str())["nodes"].size() == 1);
  }

  TEST_CASE("the summary counts every state and bins every scored query") {
    TempDir dir;
    testing::BuildSamplePool(dir.path());
    auto store = OpenReadOnly(dir.path());
    Result<dump::PoolSummary> s = dump::Summarize(*store, 4, 0.0, 1.0, nullptr);
    REQUIRE(s.ok());
    uint64_t total = 0, binned = 0;
    for (uint64_t n : s->per_state) total += n;
    for (const dump::HistogramBin& b : s->bins) binned += b.low + b.high + b.other;
    CHECK(total == 18);
    CHECK(binned == s->scored);
    CHECK(s->bins.size() == 4);
    CHECK(dump::SummaryText(*s).find("rewards of") != std::string::npos);

    // --png: a real PNG, drawn by matplotlib.
    const std::string png = dir.Sub("hist.png");
    HEAPA_REQUIRE_OK(dump::PlotSummaryPng(*s, png));
    std::ifstream in(png, std::ios::binary);
    std::string magic(8, '\0');
    in.read(magic.data(), 8);
    CHECK(magic == std::string("\x89PNG\r\n\x1a\n", 8));
  }
}

}  // namespace heapa
