#include "tests/testutil/random_ops.h"

namespace heapa::testing {

RandomDriver::RandomDriver(uint64_t seed, std::shared_ptr<FakeClock> clock)
    : rng_(seed), clock_(std::move(clock)) {}

void RandomDriver::Step(Pool& pool) {
  switch (rng_() % 10) {
    case 0:
    case 1:
      return Insert(pool);
    case 2:
    case 3:
      return Sample(pool);
    case 4:
    case 5:
      return Report(pool);
    case 6:
      return Children(pool);
    case 7:
      return ValidateOne(pool);
    case 8:
      clock_->now_ms += static_cast<int64_t>(rng_() % 3000);
      return;
    default: {
      const Status s = rng_() % 2 ? pool.Reinsert().status() : pool.Recover().status();
      INFO(s.ToString());
      REQUIRE(s.ok());
    }
  }
}

void RandomDriver::Insert(Pool& pool) {
  std::vector<NewQuery> batch(1 + rng_() % 12);
  for (NewQuery& q : batch) {
    // Some repeats exercise dedup.
    const int n = rng_() % 8 == 0 && next_prompt_ > 0 ? static_cast<int>(rng_() % next_prompt_)
                                                      : next_prompt_++;
    q = MakeQuery(n);
    if (rng_() % 3) q.reward = static_cast<double>(rng_() % 9) / 4.0 - 1.0;
  }
  auto r = pool.Insert(batch);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  for (const InsertResult& x : *r) {
    if (x.created) known_.push_back(x.id);
  }
}

void RandomDriver::Sample(Pool& pool) {
  SampleRequest req;
  req.count = static_cast<uint32_t>(1 + rng_() % 10);
  req.lease_ms = 1000 + static_cast<int64_t>(rng_() % 5000);
  req.with_content = rng_() % 4 == 0;
  auto r = pool.Sample(req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  if (r->empty()) return;
  std::vector<QueryId> ids;
  for (const SampledQuery& q : *r) ids.push_back(q.id);
  samples_.push_back(std::move(ids));
  leased_.insert(leased_.end(), r->begin(), r->end());
}

void RandomDriver::Report(Pool& pool) {
  std::vector<ReportItem> items;
  const size_t n = 1 + rng_() % 6;
  while (!leased_.empty() && items.size() < n) {
    const SampledQuery sq = leased_.back();
    leased_.pop_back();
    bool twice = false;  // an expired lease may have been granted again
    for (const ReportItem& it : items) twice = twice || it.id == sq.id;
    if (twice) continue;
    std::vector<double> rewards(1 + rng_() % 8);
    for (double& x : rewards) x = rng_() % 2 ? 1.0 : -1.0;
    items.push_back({sq.id, sq.lease, std::move(rewards), static_cast<int64_t>(rng_() % 100)});
  }
  if (items.empty()) return;
  auto r = pool.Report(items);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
}

void RandomDriver::Children(Pool& pool) {
  if (known_.empty()) return;
  std::vector<NewChild> kids(1 + rng_() % 3);
  for (NewChild& c : kids) {
    c.parents = {known_[rng_() % known_.size()]};
    if (rng_() % 4 == 0) {
      const QueryId other = known_[rng_() % known_.size()];
      if (other != c.parents[0]) c.parents.push_back(other);
    }
    c.prompt = "kid" + std::to_string(next_prompt_++);
    c.answer = "k";
    c.policy_difficulty = 0.75 + static_cast<double>(rng_() % 59) / 100.0;
    c.validated = rng_() % 2 == 0;
  }
  auto r = pool.InsertChildren(kids);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  for (size_t i = 0; i < r->size(); ++i) {
    if (!(*r)[i].created) continue;
    known_.push_back((*r)[i].id);
    if (!kids[i].validated) pending_.push_back((*r)[i].id);
  }
}

void RandomDriver::ValidateOne(Pool& pool) {
  if (pending_.empty()) return;
  const QueryId id = pending_.back();
  pending_.pop_back();
  const Status s = pool.Validate(id, rng_() % 4 != 0);
  INFO(s.ToString());
  REQUIRE(s.ok());
}

}  // namespace heapa::testing
