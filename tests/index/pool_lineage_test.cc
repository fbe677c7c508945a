// Augmented children, validation, lineage and refresh through the Pool.
#include <doctest/doctest.h>

#include <cmath>

#include "index/pool.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using testing::MakeQuery;
using testing::OpenPool;
using testing::TempDir;

NewChild MakeChild(std::vector<QueryId> parents, int n, double difficulty = 1.0,
                   bool validated = false) {
  NewChild c;
  c.parents = std::move(parents);
  c.prompt = "child" + std::to_string(n);
  c.answer = "x" + std::to_string(n);
  c.policy_difficulty = difficulty;
  c.validated = validated;
  return c;
}

QueryId InsertOne(Pool& pool, const NewQuery& q) {
  auto r = pool.Insert(std::vector<NewQuery>{q});
  REQUIRE(r.ok());
  return (*r)[0].id;
}

std::vector<InsertResult> InsertKids(Pool& pool, const std::vector<NewChild>& kids) {
  auto r = pool.InsertChildren(kids);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_SUITE("index/pool_lineage") {
  TEST_CASE("a child without est_reward is estimated from its parent as in §5.2") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    const QueryId scored = InsertOne(*pool, MakeQuery(1, 0.5));
    const QueryId unscored = InsertOne(*pool, MakeQuery(2));
    auto kids = InsertKids(*pool, {MakeChild({scored}, 1, 1.25), MakeChild({unscored}, 2, 1.25),
                                   MakeChild({scored}, 3, 0.8)});
    CHECK(std::abs(pool->Get(kids[0].id)->state.reward - 0.4) < 1e-12);
    CHECK(std::abs(pool->Get(kids[1].id)->state.reward - 0.4) < 1e-12);    // 0.5 / 1.25
    CHECK(std::abs(pool->Get(kids[2].id)->state.reward - 0.625) < 1e-12);  // 0.5 / 0.8
    auto info = pool->Get(kids[0].id);
    CHECK(info->query.origin == Origin::kAugmented);
    CHECK(info->query.parents == std::vector<QueryId>{scored});
    CHECK(info->query.policy_difficulty == 1.25);
    CHECK(info->stats.has_est_reward);
    NewChild explicit_est = MakeChild({scored}, 4);
    explicit_est.est_reward = -0.3;
    auto k4 = InsertKids(*pool, {explicit_est});
    CHECK(pool->Get(k4[0].id)->state.reward == -0.3);
  }

  TEST_CASE("unvalidated children are PENDING, never sampled, and survive a reopen") {
    TempDir dir;
    QueryId child = 0;
    {
      auto pool = OpenPool(dir.path(), PoolConfig{});
      const QueryId p = InsertOne(*pool, MakeQuery(1, 0.0));
      child = InsertKids(*pool, {MakeChild({p}, 1)})[0].id;
      CHECK(pool->Stats().pending == 1);
      SampleRequest req;
      req.count = 10;
      auto s = pool->Sample(req);
      REQUIRE(s.ok());
      for (const SampledQuery& q : *s) CHECK(q.id != child);
    }
    auto pool = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(pool.ok());
    CHECK((*pool)->Stats().pending == 1);
    CHECK((*pool)->Get(child)->state.state == QueryState::kPending);
  }

  TEST_CASE("Validate admits by est_reward or rejects, and checks its preconditions") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    const QueryId p = InsertOne(*pool, MakeQuery(1, 0.5));
    auto kids =
        InsertKids(*pool, {MakeChild({p}, 1), MakeChild({p}, 2), MakeChild({p}, 3, 1, true)});
    HEAPA_REQUIRE_OK(pool->Validate(kids[0].id, true, std::string("42"), 1.1));
    auto info = pool->Get(kids[0].id);
    CHECK((info->state.state == QueryState::kLow || info->state.state == QueryState::kHigh));
    CHECK(info->query.answer == "42");
    CHECK(info->query.meta.back().first == "teacher_difficulty");
    HEAPA_REQUIRE_OK(pool->Validate(kids[1].id, false));
    CHECK(pool->Get(kids[1].id)->state.state == QueryState::kRejected);
    CHECK(pool->Validate(kids[1].id, true).code() == Status::Code::kFailedPrecondition);
    CHECK(pool->Validate(kids[2].id, true).code() == Status::Code::kFailedPrecondition);
    CHECK(pool->Validate(999, true).code() == Status::Code::kNotFound);
    // The validated answer is now the dedup key: the same content is recognised.
    NewChild again = MakeChild({p}, 1);
    again.answer = "42";
    auto dup = InsertKids(*pool, {again});
    CHECK_FALSE(dup[0].created);
    CHECK(dup[0].id == kids[0].id);
    CHECK(pool->Stats().pending == 0);
    CHECK(pool->Stats().rejected == 1);
  }

  TEST_CASE("Validate refuses to grow a record past its limits, and keeps it readable") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    const QueryId p = InsertOne(*pool, MakeQuery(1, 0.5));
    NewChild full = MakeChild({p}, 1);
    for (size_t i = 0; i < storage::kMaxMetaEntries; ++i) {
      full.meta.emplace_back("k" + std::to_string(i), "v");
    }
    const QueryId kid = InsertKids(*pool, {full})[0].id;
    CHECK(pool->Validate(kid, true, std::nullopt, 1.1).code() == Status::Code::kInvalidArgument);
    CHECK(pool->Get(kid).ok());
    CHECK(pool->Get(kid)->state.state == QueryState::kPending);
    // A second teacher difficulty replaces the first instead of adding an entry.
    const QueryId other = InsertKids(*pool, {MakeChild({p}, 2)})[0].id;
    HEAPA_REQUIRE_OK(pool->Validate(other, true, std::nullopt, 1.1));
    auto info = pool->Get(other);
    REQUIRE(info.ok());
    CHECK(info->query.meta.size() == 1);
  }

  TEST_CASE("InsertChildren rejects bad parents and writes nothing") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    const QueryId p = InsertOne(*pool, MakeQuery(1));
    const auto counters = pool->Stats().counters;
    CHECK(pool->InsertChildren(std::vector<NewChild>{MakeChild({}, 1)}).status().code() ==
          Status::Code::kInvalidArgument);
    CHECK(pool->InsertChildren(std::vector<NewChild>{MakeChild({p, p}, 1)}).status().code() ==
          Status::Code::kInvalidArgument);
    CHECK(pool->InsertChildren(std::vector<NewChild>{MakeChild({p}, 1), MakeChild({p + 5}, 2)})
              .status()
              .code() == Status::Code::kNotFound);
    CHECK(pool->InsertChildren(std::vector<NewChild>{MakeChild({p}, 1, 0.0)}).status().code() ==
          Status::Code::kInvalidArgument);
    NewChild nan_est = MakeChild({p}, 1);
    nan_est.est_reward = std::nan("");
    CHECK(pool->InsertChildren(std::vector<NewChild>{nan_est}).status().code() ==
          Status::Code::kInvalidArgument);
    CHECK(pool->Stats().counters == counters);
    CHECK(pool->Lineage(p, 5)->children.empty());
  }

  TEST_CASE("Lineage returns parents, children, ancestors and descendants, also after reopen") {
    TempDir dir;
    QueryId a, b, c, d;
    {
      auto pool = OpenPool(dir.path(), PoolConfig{});
      a = InsertOne(*pool, MakeQuery(1, 0.0));
      b = InsertOne(*pool, MakeQuery(2, 0.5));
      c = InsertKids(*pool, {MakeChild({a, b}, 1, 1.0, true)})[0].id;
      d = InsertKids(*pool, {MakeChild({c}, 2, 1.0, true)})[0].id;
    }
    auto pool = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(pool.ok());
    auto v = (*pool)->Lineage(d, 10);
    REQUIRE(v.ok());
    CHECK(v->parents == std::vector<QueryId>{c});
    CHECK(v->ancestors.size() == 3);
    CHECK(v->ancestors[0] == std::pair<QueryId, uint32_t>{c, 1});
    auto va = (*pool)->Lineage(a, 1);
    CHECK(va->children == std::vector<QueryId>{c});
    CHECK(va->descendants.size() == 1);
    CHECK((*pool)->Lineage(a, 2)->descendants.size() == 2);
    CHECK((*pool)->Lineage(999, 1).status().code() == Status::Code::kNotFound);
  }

  TEST_CASE("the refresh dry run writes nothing, reinsertion applies the configured refresh") {
    TempDir dir;
    PoolConfig config;
    config.refresh = RefreshMode::kChild;
    auto pool = OpenPool(dir.path(), config);
    const QueryId parent = InsertOne(*pool, MakeQuery(1));
    // Sample and report the parent: ARCHIVED with reward 0.2.
    SampleRequest req;
    req.count = 1;
    auto s = pool->Sample(req);
    REQUIRE(s.ok());
    REQUIRE(pool->Report(std::vector<ReportItem>{{parent, (*s)[0].lease, {0.2}, 1}}).ok());
    // A validated child with est 0.6 and difficulty 1.5: adj = 0.4.
    NewChild kid = MakeChild({parent}, 1, 1.5, true);
    kid.est_reward = 0.6;
    InsertKids(*pool, {kid});
    const Hash128 before = *pool->Digest();
    auto dry = pool->RefreshDryRun();
    REQUIRE(dry.ok());
    REQUIRE(dry->size() == 1);
    CHECK((*dry)[0].first == parent);
    CHECK(std::abs((*dry)[0].second - 0.3) < 1e-12);  // 0.5*0.2 + 0.5*0.4
    index::RefreshOptions inverse;
    inverse.mode = RefreshMode::kChild;
    inverse.inverse_adjust = true;
    CHECK(std::abs((*pool->RefreshDryRun(inverse))[0].second - 0.55) < 1e-12);  // 0.1 + 0.45
    CHECK(*pool->Digest() == before);
    index::RefreshOptions bad;
    bad.temperature = 0;
    CHECK(pool->RefreshDryRun(bad).status().code() == Status::Code::kInvalidArgument);

    REQUIRE(*pool->Reinsert() == 1);
    auto info = pool->Get(parent);
    CHECK(std::abs(info->state.reward - 0.3) < 1e-12);
    CHECK(std::abs(info->stats.est_reward - 0.3) < 1e-12);
  }
}

}  // namespace heapa
