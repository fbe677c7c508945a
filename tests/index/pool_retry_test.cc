// Exactly-once retries: a mutation with the RequestKey of an applied request returns the
// stored result and applies nothing, also after a reopen.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "index/pool.h"
#include "storage/keys.h"
#include "tests/testutil/sample_pool.h"
#include "tests/testutil/store_util.h"
#include "tests/testutil/test_util.h"

namespace heapa {
using testing::MakeQuery;
using testing::OpenPool;
using testing::TempDir;

TEST_SUITE("index/pool_retry") {
  TEST_CASE("every mutation replays its stored result for the same request key") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    const RequestKey k1{7, 1}, k2{7, 2}, k3{7, 3}, k4{7, 4}, k5{7, 5}, k6{7, 6}, k7{7, 7};
    const std::vector<NewQuery> qs = {MakeQuery(1), MakeQuery(2, 0.5), MakeQuery(3, -0.5)};
    auto ins = pool->Insert(qs, k1);
    REQUIRE(ins.ok());
    const auto after_insert = pool->Stats().counters;
    auto ins_again = pool->Insert(qs, k1);
    REQUIRE(ins_again.ok());
    CHECK(ins_again->size() == 3);
    for (size_t i = 0; i < 3; ++i) {
      CHECK((*ins_again)[i].id == (*ins)[i].id);
      CHECK((*ins_again)[i].created);  // the original answer, not "duplicate"
    }
    CHECK(pool->Stats().counters == after_insert);

    SampleRequest req;
    req.count = 2;
    auto s = pool->Sample(req, k2);
    REQUIRE(s.ok());
    auto s_again = pool->Sample(req, k2);
    REQUIRE(s_again.ok());
    REQUIRE(s_again->size() == s->size());
    for (size_t i = 0; i < s->size(); ++i) {
      CHECK((*s_again)[i].id == (*s)[i].id);
      CHECK((*s_again)[i].lease == (*s)[i].lease);
      CHECK((*s_again)[i].lease_deadline_ms == (*s)[i].lease_deadline_ms);
      CHECK((*s_again)[i].from == (*s)[i].from);
      CHECK((*s_again)[i].reward == (*s)[i].reward);
      CHECK((*s_again)[i].query.prompt == (*s)[i].query.prompt);
    }
    CHECK(pool->Stats().in_flight == 2);

    const std::vector<ReportItem> items = {{(*s)[0].id, (*s)[0].lease, {1, 0}, 1}};
    REQUIRE(pool->Report(items, k3).ok());
    auto r_again = pool->Report(items, k3);
    REQUIRE(r_again.ok());
    CHECK((*r_again)[0] == ReportOutcome::kApplied);  // the stored answer
    CHECK(pool->Get((*s)[0].id)->stats.reports == 1);

    auto rec = pool->Recover(k4);
    REQUIRE(rec.ok());
    CHECK(*rec == 1);
    CHECK(*pool->Recover(k4) == 1);
    auto re = pool->Reinsert(k5);
    REQUIRE(re.ok());
    CHECK(*re == 1);
    CHECK(*pool->Reinsert(k5) == 1);

    NewChild kid;
    kid.parents = {(*ins)[0].id};
    kid.prompt = "kid";
    auto ch = pool->InsertChildren(std::vector<NewChild>{kid}, k6);
    REQUIRE(ch.ok());
    CHECK((*pool->InsertChildren(std::vector<NewChild>{kid}, k6))[0].created);
    HEAPA_REQUIRE_OK(pool->Validate((*ch)[0].id, true, std::nullopt, std::nullopt, k7));
    HEAPA_REQUIRE_OK(pool->Validate((*ch)[0].id, true, std::nullopt, std::nullopt, k7));
    CHECK(pool->Validate((*ch)[0].id, true).code() == Status::Code::kFailedPrecondition);
  }

  TEST_CASE("stored results survive a reopen, another client's key is independent") {
    TempDir dir;
    std::vector<InsertResult> first;
    {
      auto pool = OpenPool(dir.path(), PoolConfig{});
      first = *pool->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{1, 9});
    }
    auto pool = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(pool.ok());
    auto again = (*pool)->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{1, 9});
    REQUIRE(again.ok());
    CHECK((*again)[0].created);
    auto other = (*pool)->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{2, 9});
    REQUIRE(other.ok());
    CHECK_FALSE((*other)[0].created);  // a new request: dedup answers
    CHECK((*other)[0].id == first[0].id);
  }

  TEST_CASE("after a reopen, a new request below a stored one does not hide it") {
    // The pool skips the read of a request above the client's highest stored one: that
    // highest must come from the store, not from the first request it sees.
    TempDir dir;
    const uint64_t top = ~uint64_t{0};  // a client id with no key above its prefix
    {
      auto pool = OpenPool(dir.path(), PoolConfig{});
      REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{5, 10}).ok());
      REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(2)}, RequestKey{top, 3}).ok());
    }
    auto pool = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(pool.ok());
    for (const uint64_t client : {uint64_t{5}, top}) {
      CAPTURE(client);
      auto lower = (*pool)->Insert(std::vector<NewQuery>{MakeQuery(7)}, RequestKey{client, 1});
      REQUIRE(lower.ok());
      const uint64_t stored = client == top ? 3 : 10;
      auto retry = (*pool)->Insert(std::vector<NewQuery>{MakeQuery(client == top ? 2 : 1)},
                                   RequestKey{client, stored});
      REQUIRE(retry.ok());
      CHECK((*retry)[0].created);  // the stored answer; a new request would be a duplicate
      auto next =
          (*pool)->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{client, stored + 1});
      REQUIRE(next.ok());
      CHECK_FALSE((*next)[0].created);  // a new request: dedup answers
    }
    CHECK((*pool)->Stats().counters.total_added == 3);
  }

  TEST_CASE("a restore brings back the checkpoint's stored results") {
    TempDir dir;
    {
      auto pool = OpenPool(dir.path(), PoolConfig{});
      REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{5, 1}).ok());
      HEAPA_REQUIRE_OK(pool->Checkpoint("early"));
      REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(2)}, RequestKey{5, 2}).ok());
      HEAPA_REQUIRE_OK(pool->Checkpoint("late"));
    }
    // A new process: it has seen none of client 5's requests.
    auto opened = Pool::Open(dir.path(), PoolOptions{});
    REQUIRE(opened.ok());
    std::unique_ptr<Pool>& pool = *opened;
    HEAPA_REQUIRE_OK(pool->Restore("early"));
    // Client 5's requests are read again: its highest stored request is 1 here.
    auto first = pool->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{5, 1});
    REQUIRE(first.ok());
    CHECK((*first)[0].created);
    HEAPA_REQUIRE_OK(pool->Restore("late"));
    auto second = pool->Insert(std::vector<NewQuery>{MakeQuery(2)}, RequestKey{5, 2});
    REQUIRE(second.ok());
    CHECK((*second)[0].created);  // the late checkpoint's stored answer
    CHECK(pool->Stats().counters.total_added == 2);
  }

  TEST_CASE("a key used for another operation is refused") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{3, 1}).ok());
    SampleRequest req;
    req.count = 1;
    CHECK(pool->Sample(req, RequestKey{3, 1}).status().code() == Status::Code::kInvalidArgument);
  }

  TEST_CASE("results are retired in blocks: the last kRequestWindow of a client are kept") {
    constexpr uint64_t kWindow = Pool::kRequestWindow;
    constexpr uint64_t kBlock = Pool::kRetireBlock;
    static_assert(Pool::RetiredThrough(kWindow) == 0);
    static_assert(Pool::RetiredThrough(kWindow + kBlock - 1) == 0);
    static_assert(Pool::RetiredThrough(kWindow + kBlock) == kBlock);
    static_assert(Pool::RetiredThrough(kWindow + 3 * kBlock - 1) == 2 * kBlock);
    // Client 4 numbers its requests 1, 2, ... but skips a stretch that would have retired a
    // block on its own; client 5 sends request 1 only. The pool tracks their highest requests,
    // or not (as beyond kTrackedClients clients).
    constexpr uint64_t kSkipFrom = kWindow + kBlock - 10;
    constexpr uint64_t kSkipTo = kWindow + 2 * kBlock + 10;
    constexpr uint64_t kLast = kWindow + 3 * kBlock + 5;
    for (const bool tracked : {true, false}) {
      CAPTURE(tracked);
      TempDir dir;
      PoolOptions options;
      options.create_if_missing = true;
      options.sync = false;  // thousands of small writes
      auto send = [&](uint64_t from, uint64_t to) {
        auto opened = Pool::Open(dir.path(), options);
        REQUIRE(opened.ok());
        Pool& pool = **opened;
        if (!tracked) pool.TEST_LimitTrackedClients(0);
        for (uint64_t r = from; r <= to; ++r) {
          if (r >= kSkipFrom && r < kSkipTo) continue;
          REQUIRE(
              pool.Insert(std::vector<NewQuery>{MakeQuery(static_cast<int>(r))}, RequestKey{4, r})
                  .ok());
        }
        return std::move(opened).value();
      };
      auto stored_requests = [&](uint64_t client) {
        auto store = testing::OpenRawStore(dir.path());
        testing::KeyValuePairs stored;
        REQUIRE(testing::ScanInto(*store, storage::RequestKeyPrefix(client), &stored).ok());
        std::vector<uint64_t> requests;
        for (const auto& [key, value] : stored) {
          uint64_t c = 0;
          uint64_t r = 0;
          REQUIRE(storage::DecodeRequestKey(key, &c, &r));
          requests.push_back(r);
        }
        return requests;
      };
      auto want = [&](uint64_t last, std::vector<uint64_t> also) {
        for (uint64_t r = Pool::RetiredThrough(last) + 1; r <= last; ++r) {
          if (r < kSkipFrom || r >= kSkipTo) also.push_back(r);
        }
        std::sort(also.begin(), also.end());
        return also;
      };
      {
        std::unique_ptr<Pool> pool = send(1, kLast);
        REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(0)}, RequestKey{5, 1}).ok());
        CHECK(pool->TEST_TrackedClients() == (tracked ? 2 : 0));
        // Request kLast is remembered.
        auto last = pool->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{4, kLast});
        REQUIRE(last.ok());
        CHECK((*last)[0].created);
        // Request 1 is forgotten: running it again is a new request (dedup says not created).
        auto again = pool->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{4, 1});
        REQUIRE(again.ok());
        CHECK_FALSE((*again)[0].created);
      }
      // Client 4 keeps its window (the skipped stretch retired too), and request 1 again.
      CHECK(stored_requests(4) == want(kLast, {1}));
      CHECK(stored_requests(5) == std::vector<uint64_t>{1});
      {
        // A result an older build left below the window (it did not retire numbers spent on
        // another pool).
        auto store = testing::OpenRawStore(dir.path());
        storage::Batch batch;
        batch.Put(storage::RequestKey(4, 2), "left by an older build");
        HEAPA_REQUIRE_OK(store->Write(&batch));
      }
      // Reopened, the client's next block retires both.
      send(kLast + 1, kLast + kBlock).reset();
      CHECK(stored_requests(4) == want(kLast + kBlock, {}));
      CHECK(stored_requests(5) == std::vector<uint64_t>{1});
    }
  }

  TEST_CASE("clients beyond kTrackedClients are still answered exactly once") {
    TempDir dir;
    auto pool = OpenPool(dir.path(), PoolConfig{});
    // A tracked client with a stored result below its highest request.
    REQUIRE(pool->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{1, 5}).ok());
    // Fill the tracking table: a Recover with nothing in flight writes nothing, but its
    // client is tracked from then on.
    for (uint64_t client = 2; client <= Pool::kTrackedClients + 1; ++client) {
      REQUIRE(pool->Recover(RequestKey{client, 1}).ok());
    }
    REQUIRE(pool->TEST_TrackedClients() == Pool::kTrackedClients);
    // An untracked client: its retry must find the stored result, not run the insert again
    // (which would say "not created": the prompt is then a duplicate).
    const RequestKey untracked{Pool::kTrackedClients + 7, 3};
    auto first = pool->Insert(std::vector<NewQuery>{MakeQuery(2)}, untracked);
    REQUIRE(first.ok());
    CHECK((*first)[0].created);
    for (int retry = 0; retry < 2; ++retry) {
      auto again = pool->Insert(std::vector<NewQuery>{MakeQuery(2)}, untracked);
      REQUIRE(again.ok());
      CHECK((*again)[0].created);
      CHECK((*again)[0].id == (*first)[0].id);
    }
    // A request below the stored one is new; the tracked client's retry still replays.
    auto lower = pool->Insert(std::vector<NewQuery>{MakeQuery(3)}, RequestKey{untracked.client, 2});
    REQUIRE(lower.ok());
    CHECK((*lower)[0].created);
    auto replay = pool->Insert(std::vector<NewQuery>{MakeQuery(1)}, RequestKey{1, 5});
    REQUIRE(replay.ok());
    CHECK((*replay)[0].created);
    CHECK(pool->Stats().counters.next_id == 4);  // three queries, ids 1-3
  }
}

}  // namespace heapa
