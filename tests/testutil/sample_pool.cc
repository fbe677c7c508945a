#include "tests/testutil/sample_pool.h"

#include <vector>

#include "storage/keys.h"
#include "storage/pool_dir.h"
#include "tests/testutil/test_util.h"

namespace heapa::testing {

SamplePoolIds BuildSamplePool(const std::string& dir) {
  auto clock = std::make_shared<FakeClock>();
  PoolConfig config;
  config.max_size = 12;
  config.rng_seed = 42;
  std::unique_ptr<Pool> pool = OpenPool(dir, config, ClockOf(clock));
  std::vector<NewQuery> queries;
  for (int i = 0; i < 10; ++i) {
    queries.push_back(MakeQuery(i, i % 2 == 0 ? std::nullopt : std::optional<double>(i / 10.0)));
  }
  REQUIRE(pool->Insert(queries).ok());
  SampleRequest req;
  req.count = 3;
  Result<std::vector<SampledQuery>> sampled = pool->Sample(req);
  REQUIRE(sampled.ok());
  REQUIRE(sampled->size() == 3);
  SamplePoolIds ids;
  ids.reported = sampled->front().id;
  ReportItem item;
  item.id = ids.reported;
  item.lease = sampled->front().lease;
  item.rewards = {1, 0, 1};
  item.step = 1;
  REQUIRE(pool->Report(std::span<const ReportItem>(&item, 1)).ok());
  NewChild child;
  child.parents = {ids.reported};
  child.prompt = "child";
  child.answer = "c";
  child.policy_difficulty = 1.5;
  child.est_reward = 0.4;
  child.validated = true;
  Result<std::vector<InsertResult>> c = pool->InsertChildren(std::span<const NewChild>(&child, 1));
  REQUIRE(c.ok());
  ids.child = c->front().id;
  NewChild grandchild;
  grandchild.parents = {ids.reported, ids.child};
  grandchild.prompt = "grandchild";
  grandchild.answer = "g";
  grandchild.policy_difficulty = 0.5;
  c = pool->InsertChildren(std::span<const NewChild>(&grandchild, 1));
  REQUIRE(c.ok());
  ids.rejected = c->front().id;
  HEAPA_REQUIRE_OK(pool->Validate(ids.rejected, false));
  // Beyond max_size: evictions.
  queries.clear();
  for (int i = 10; i < 16; ++i) queries.push_back(MakeQuery(i, i / 20.0));
  REQUIRE(pool->Insert(queries).ok());
  HEAPA_REQUIRE_OK(pool->Close());
  return ids;
}

std::unique_ptr<storage::Store> OpenRawStore(const std::string& dir) {
  Result<std::string> live = storage::PoolDir::LiveDb(dir);
  REQUIRE(live.ok());
  Result<std::unique_ptr<storage::Store>> store = storage::Store::Open(*live, {});
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

void BuildPoolWithUnreadableText(const std::string& dir) {
  {
    auto pool = OpenPool(dir, PoolConfig{});
    HEAPA_REQUIRE_OK(pool->Insert(std::vector<NewQuery>{MakeQuery(1), MakeQuery(2)}).status());
    HEAPA_REQUIRE_OK(pool->Close());
  }
  auto store = OpenRawStore(dir);
  storage::Batch batch;
  batch.Put(storage::QueryKey(2), "not a query record");
  HEAPA_REQUIRE_OK(store->Write(&batch));
}

}  // namespace heapa::testing
