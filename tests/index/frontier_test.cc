// FrontierIndex: ordering, tie-breaks, transactions and rebuild.
#include "index/frontier.h"

#include <doctest/doctest.h>

#include "tests/testutil/frontier_fixture.h"

namespace heapa {
using storage::QueryState;
using testing::FrontierFixture;

TEST_SUITE("index/frontier") {
  TEST_CASE("extremes break reward ties by the smallest seq at both ends") {
    FrontierFixture f;
    f.ix.Begin();
    std::vector<index::Entry*> es;
    for (int i = 0; i < 4; ++i) {
      index::Entry& e = f.ix.Create();
      e.has_reward = true;
      e.reward = i < 2 ? 0.0 : 1.0;
      e.seq = f.ix.TakeSeq();
      f.ix.Attach(e, QueryState::kLow);
      es.push_back(&e);
    }
    CHECK(f.ix.LowMin().id == es[0]->id);
    CHECK(f.ix.LowMax().id == es[2]->id);  // reward 1.0, older than es[3]
    f.ix.Commit();
  }

  TEST_CASE("Rollback restores entries, sets, counters and the RNG exactly") {
    FrontierFixture f(/*max_size=*/6);
    for (int i = 0; i < 6; ++i) f.Add(i % 2 ? std::optional<double>(i) : std::nullopt);
    f.Archive(f.Sample(2));
    for (int i = 0; i < 2; ++i) f.Add(i);
    const auto archived = FrontierFixture::Ids(f.ix.archived());
    REQUIRE(archived.size() == 2);
    const auto low = FrontierFixture::Ids(f.ix.low());
    const auto high = FrontierFixture::Ids(f.ix.high());
    const auto cold = FrontierFixture::Ids(f.ix.cold());
    const auto counters = f.ix.counters();
    const uint64_t rng_state = f.ix.rng().state();

    f.ix.Begin();
    for (index::Entry* e : f.sampler.Sample(3)) f.ix.Attach(*e, QueryState::kInFlight);
    // One archived entry leaves the archive, and a sampled one enters it.
    index::Entry& unarchived = *f.ix.Find(archived[0]);
    f.ix.Detach(unarchived);
    unarchived.seq = f.ix.TakeSeq();
    f.ix.Attach(unarchived, QueryState::kCold);
    index::Entry& leased = *f.ix.in_flight().begin();
    f.ix.Detach(leased);
    f.ix.Attach(leased, QueryState::kArchived);
    index::Entry& fresh = f.ix.Create();
    fresh.has_reward = true;
    fresh.reward = 100;
    f.placement.Add(fresh);  // full: evicts
    CHECK(!f.ix.Touched().empty());
    f.ix.Rollback();

    CHECK(FrontierFixture::Ids(f.ix.low()) == low);
    CHECK(FrontierFixture::Ids(f.ix.high()) == high);
    CHECK(FrontierFixture::Ids(f.ix.cold()) == cold);
    CHECK(f.ix.in_flight().empty());
    CHECK(FrontierFixture::Ids(f.ix.archived()) == archived);
    CHECK(f.ix.count(QueryState::kArchived) == 2);
    CHECK(f.ix.counters() == counters);
    CHECK(f.ix.rng().state() == rng_state);
    CHECK(f.ix.Find(counters.next_id) == nullptr);
    CHECK(f.ix.count(QueryState::kEvicted) == 0);
    // The index is usable afterwards.
    f.Add(0.5);
    CHECK(f.ix.pooled() == 6);
    CHECK(FrontierFixture::Ids(f.ix.archived()) == archived);
  }

  TEST_CASE("Load and FinishLoad rebuild the same sets from state records") {
    FrontierFixture f(/*max_size=*/50);
    for (int i = 0; i < 40; ++i) f.Add(i % 3 ? std::optional<double>((i * 7) % 5) : std::nullopt);
    f.Archive(f.Sample(7));
    f.Sample(5);
    index::FrontierIndex rebuilt;
    for (uint64_t id = 1; id < f.ix.counters().next_id; ++id) {
      rebuilt.Load(id, f.ix.Find(id)->ToRecord());
    }
    REQUIRE(rebuilt.FinishLoad().ok());
    CHECK(FrontierFixture::Ids(rebuilt.low()) == FrontierFixture::Ids(f.ix.low()));
    CHECK(FrontierFixture::Ids(rebuilt.high()) == FrontierFixture::Ids(f.ix.high()));
    CHECK(FrontierFixture::Ids(rebuilt.cold()) == FrontierFixture::Ids(f.ix.cold()));
    CHECK(FrontierFixture::Ids(rebuilt.in_flight()) == FrontierFixture::Ids(f.ix.in_flight()));
    CHECK(FrontierFixture::Ids(rebuilt.archived()) == FrontierFixture::Ids(f.ix.archived()));
    CHECK(rebuilt.archived().size() == 7);
    for (QueryState s : {QueryState::kCold, QueryState::kLow, QueryState::kHigh,
                         QueryState::kInFlight, QueryState::kArchived, QueryState::kEvicted}) {
      CHECK(rebuilt.count(s) == f.ix.count(s));
    }
  }

  TEST_CASE("a rebuild refuses two queries with the same ordering key") {
    index::FrontierIndex ix;
    storage::StateRecord rec;
    rec.state = QueryState::kCold;
    rec.seq = 7;
    ix.Load(1, rec);
    ix.Load(2, rec);  // same seq: a damaged (or forged) record
    CHECK(ix.FinishLoad().code() == Status::Code::kCorruption);
  }

  TEST_CASE("an entry uses at most 72 bytes") { CHECK(sizeof(index::Entry) <= 72); }
}

}  // namespace heapa
