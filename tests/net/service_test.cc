// Service without sockets: request frames in, response frames out (the handshake, every error
// path of a frame, and a pool request), as the session would call it.
#include "net/service.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <random>

#include "protocol_generated.h"
#include "tests/testutil/test_util.h"

namespace heapa::net {
namespace {

std::string Finish(flatbuffers::FlatBufferBuilder& b, uint64_t rid, const std::string& pool,
                   fb::RequestBody type, flatbuffers::Offset<void> body) {
  b.Finish(fb::CreateRequest(b, rid, b.CreateString(pool), type, body));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

std::string Hello(uint32_t version, const std::string& token = "", uint64_t client = 9) {
  flatbuffers::FlatBufferBuilder b;
  const auto h = fb::CreateHello(b, version, client, b.CreateString(token));
  return Finish(b, 0, "", fb::RequestBody::Hello, h.Union());
}

// Keeps the response bytes aligned while it is read.
struct Parsed {
  explicit Parsed(const std::string& bytes) : words(bytes.size() / 8 + 1) {
    std::memcpy(words.data(), bytes.data(), bytes.size());
    flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(words.data()), bytes.size());
    REQUIRE(v.VerifyBuffer<fb::Response>(nullptr));
    r = flatbuffers::GetRoot<fb::Response>(words.data());
  }
  std::vector<uint64_t> words;
  const fb::Response* r = nullptr;
};

// An Insert of one query into pool "p".
std::string InsertRequest(uint64_t rid, const std::string& prompt) {
  flatbuffers::FlatBufferBuilder b;
  const auto q = fb::CreateQuery(b, b.CreateString(prompt), b.CreateString("a"));
  return Finish(b, rid, "p", fb::RequestBody::Insert,
                fb::CreateInsert(b, b.CreateVector(std::vector{q})).Union());
}

struct Fixture {
  explicit Fixture(const std::string& token = "",
                   const std::function<void(ServiceOptions&)>& tune = {}) {
    auto reg = PoolRegistry::Open(dir.path(), PoolOptions{});
    REQUIRE(reg.ok());
    registry = std::move(reg).value();
    ServiceOptions o;
    o.auth_token = token;
    if (tune) tune(o);
    service = std::make_unique<Service>(registry.get(), o);
  }
  Parsed Call(const std::string& body, bool* close) {
    return Parsed(service->Handle(&session, body, close));
  }
  // Says Hello and creates pool "p" (request ids 0 and 1); returns it.
  std::shared_ptr<Pool> GreetAndCreatePool() {
    bool close = false;
    REQUIRE(Call(Hello(1), &close).r->code() == fb::Code::OK);
    flatbuffers::FlatBufferBuilder b;
    const auto c = fb::CreatePoolCreate(b, b.CreateString("p"), fb::CreatePoolConfig(b));
    REQUIRE(Call(Finish(b, 1, "", fb::RequestBody::PoolCreate, c.Union()), &close).r->code() ==
            fb::Code::OK);
    auto pool = registry->Find("p");
    REQUIRE(pool.ok());
    return *pool;
  }
  testing::TempDir dir;
  std::unique_ptr<PoolRegistry> registry;
  std::unique_ptr<Service> service;
  SessionState session;
};

}  // namespace

TEST_SUITE("net/service") {
  TEST_CASE("the handshake: version, token, and Hello first") {
    bool close = false;
    {
      Fixture f;
      CHECK(f.Call(Hello(2), &close).r->code() == fb::Code::UNSUPPORTED_VERSION);
      CHECK(close);
    }
    {
      Fixture f("secret");
      CHECK(f.Call(Hello(1, "wrong"), &close).r->code() == fb::Code::UNAUTHENTICATED);
      CHECK(close);
      CHECK(f.Call(Hello(1, "secret"), &close).r->code() == fb::Code::OK);
      CHECK_FALSE(close);
      CHECK(f.Call(Hello(1, "secret"), &close).r->code() == fb::Code::BAD_REQUEST);  // twice
    }
    {
      Fixture f;
      flatbuffers::FlatBufferBuilder b;
      const auto list = fb::CreatePoolList(b);
      CHECK(f.Call(Finish(b, 1, "", fb::RequestBody::PoolList, list.Union()), &close).r->code() ==
            fb::Code::BAD_REQUEST);
      CHECK(close);
    }
  }

  TEST_CASE("frames that are not Requests are BAD_REQUEST and keep the session") {
    Fixture f;
    bool close = false;
    REQUIRE(f.Call(Hello(1), &close).r->code() == fb::Code::OK);
    const uint64_t seed = testing::TestSeed("service garbage");
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 2000; ++i) {
      std::string junk(rng() % 200, '\0');
      for (char& c : junk) c = static_cast<char>(rng());
      const std::string out = f.service->Handle(&f.session, junk, &close);
      CHECK_FALSE(close);
      Parsed p(out);  // whatever came in, a valid Response came out
      CHECK(p.r != nullptr);
    }
    flatbuffers::FlatBufferBuilder b;  // a Request without a body
    b.Finish(fb::CreateRequest(b, 5, b.CreateString("p")));
    const std::string empty(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
    CHECK(f.Call(empty, &close).r->code() == fb::Code::BAD_REQUEST);
  }

  TEST_CASE("pool requests map onto the pool, and errors onto wire codes") {
    Fixture f;
    bool close = false;
    REQUIRE(f.Call(Hello(1), &close).r->code() == fb::Code::OK);
    {
      flatbuffers::FlatBufferBuilder b;
      const auto c = fb::CreatePoolCreate(b, b.CreateString("p"), fb::CreatePoolConfig(b));
      CHECK(f.Call(Finish(b, 1, "", fb::RequestBody::PoolCreate, c.Union()), &close).r->code() ==
            fb::Code::OK);
    }
    {
      flatbuffers::FlatBufferBuilder b;
      const auto q = fb::CreateQuery(b, b.CreateString("2+2?"), b.CreateString("4"));
      const auto ins = fb::CreateInsert(b, b.CreateVector(std::vector{q}));
      Parsed p = f.Call(Finish(b, 2, "p", fb::RequestBody::Insert, ins.Union()), &close);
      REQUIRE(p.r->code() == fb::Code::OK);
      CHECK(p.r->request_id() == 2);
      CHECK(p.r->durable_seq() > 0);
      REQUIRE(p.r->body_as_InsertReply());
      CHECK(p.r->body_as_InsertReply()->results()->Get(0)->id() == 1);
    }
    {
      flatbuffers::FlatBufferBuilder b;  // an empty prompt: the pool's InvalidArgument
      const auto q = fb::CreateQuery(b, b.CreateString(""));
      const auto ins = fb::CreateInsert(b, b.CreateVector(std::vector{q}));
      Parsed p = f.Call(Finish(b, 3, "p", fb::RequestBody::Insert, ins.Union()), &close);
      CHECK(p.r->code() == fb::Code::INVALID_ARGUMENT);
      CHECK(p.r->message()->str().find("empty prompt") != std::string::npos);
    }
    {
      flatbuffers::FlatBufferBuilder b;
      const auto g = fb::CreateGet(b, 77);
      CHECK(f.Call(Finish(b, 4, "p", fb::RequestBody::Get, g.Union()), &close).r->code() ==
            fb::Code::NOT_FOUND);
      flatbuffers::FlatBufferBuilder b2;
      const auto g2 = fb::CreateGet(b2, 1);
      CHECK(f.Call(Finish(b2, 5, "nope", fb::RequestBody::Get, g2.Union()), &close).r->code() ==
            fb::Code::NOT_FOUND);
    }
    {
      flatbuffers::FlatBufferBuilder b;  // enums out of range are refused, not trusted
      fb::PoolConfigBuilder cb(b);
      cb.add_sampling(static_cast<fb::SamplingMode>(200));
      const auto cfg = cb.Finish();
      const auto c = fb::CreatePoolCreate(b, b.CreateString("q"), cfg);
      CHECK(f.Call(Finish(b, 6, "", fb::RequestBody::PoolCreate, c.Union()), &close).r->code() ==
            fb::Code::INVALID_ARGUMENT);
    }
  }

  TEST_CASE("whole-pool requests beyond max_admin_requests are refused, others go on") {
    std::promise<void> entered;
    // Opened once, by the test or at the latest on the way out of it (also after a failed
    // REQUIRE), before `held` waits for its thread and before the fixture goes.
    testing::Gate gate;
    std::atomic<int> admitted{0};
    Fixture f("", [&](ServiceOptions& o) {
      o.max_admin_requests = 1;
      o.TEST_admin_hook = [&] {
        if (admitted++ > 0) return;
        entered.set_value();
        gate.Wait();  // the first one holds the only slot until the test lets it go
      };
    });
    f.GreetAndCreatePool();
    bool close = false;
    REQUIRE(f.Call(InsertRequest(2, "1+1?"), &close).r->code() == fb::Code::OK);
    const auto request = [](uint64_t rid, fb::RequestBody type) {
      flatbuffers::FlatBufferBuilder b;
      flatbuffers::Offset<void> body;
      switch (type) {
        case fb::RequestBody::Digest:
          body = fb::CreateDigest(b).Union();
          break;
        case fb::RequestBody::VerifyIndex:
          body = fb::CreateVerifyIndex(b).Union();
          break;
        case fb::RequestBody::Checkpoint:
          body = fb::CreateCheckpoint(b, b.CreateString("t")).Union();
          break;
        case fb::RequestBody::Fork:
          body = fb::CreateFork(b, b.CreateString("copy")).Union();
          break;
        case fb::RequestBody::PoolDrop:
          body = fb::CreatePoolDrop(b, b.CreateString("p")).Union();
          break;
        case fb::RequestBody::Refresh:
          body = fb::CreateRefresh(b).Union();
          break;
        case fb::RequestBody::Restore:
          body = fb::CreateRestore(b, b.CreateString("t")).Union();
          break;
        default:
          body = fb::CreateGet(b, 1).Union();
          break;
      }
      return Finish(b, rid, "p", type, body);
    };
    // Another client's Digest takes the slot and is held there.
    SessionState other;
    REQUIRE(Parsed(f.service->Handle(&other, Hello(1, "", 10), &close)).r->code() == fb::Code::OK);
    std::future<std::string> held = std::async(std::launch::async, [&] {
      bool c = false;
      return f.service->Handle(&other, request(3, fb::RequestBody::Digest), &c);
    });
    const testing::OpenOnExit open_on_exit(&gate);
    REQUIRE(entered.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    uint64_t rid = 10;
    for (fb::RequestBody verb :
         {fb::RequestBody::Digest, fb::RequestBody::VerifyIndex, fb::RequestBody::Checkpoint,
          fb::RequestBody::Fork, fb::RequestBody::PoolDrop, fb::RequestBody::Refresh,
          fb::RequestBody::Restore}) {
      CAPTURE(static_cast<int>(verb));
      Parsed p = f.Call(request(rid++, verb), &close);
      CHECK(p.r->code() == fb::Code::RESOURCE_EXHAUSTED);
      CHECK(p.r->message()->str().find("retry later") != std::string::npos);
    }
    // A whole-pool request on a pool that does not exist is answered so, not refused.
    {
      flatbuffers::FlatBufferBuilder b;
      const auto digest = fb::CreateDigest(b).Union();
      Parsed p = f.Call(Finish(b, rid++, "nope", fb::RequestBody::Digest, digest), &close);
      CHECK(p.r->code() == fb::Code::NOT_FOUND);
    }
    {
      flatbuffers::FlatBufferBuilder b;
      const auto drop = fb::CreatePoolDrop(b, b.CreateString("nope")).Union();
      Parsed p = f.Call(Finish(b, rid++, "", fb::RequestBody::PoolDrop, drop), &close);
      CHECK(p.r->code() == fb::Code::NOT_FOUND);
    }
    // The training requests are not held back.
    CHECK(f.Call(request(rid++, fb::RequestBody::Get), &close).r->code() == fb::Code::OK);
    CHECK(f.Call(InsertRequest(rid++, "2+2?"), &close).r->code() == fb::Code::OK);
    gate.Open();
    CHECK(Parsed(held.get()).r->code() == fb::Code::OK);
    // The slot is free again: a refused request goes through on its retry.
    CHECK(f.Call(request(rid++, fb::RequestBody::Digest), &close).r->code() == fb::Code::OK);
    CHECK(f.Call(request(rid++, fb::RequestBody::Checkpoint), &close).r->code() == fb::Code::OK);
    CHECK(admitted.load() == 3);
  }

  TEST_CASE("pipelined requests apply in order at Begin and share one fsync at Complete") {
    Fixture f;
    const std::shared_ptr<Pool> pool = f.GreetAndCreatePool();
    auto insert = InsertRequest;
    auto get = [](uint64_t rid, uint64_t id) {
      flatbuffers::FlatBufferBuilder b;
      return Finish(b, rid, "p", fb::RequestBody::Get, fb::CreateGet(b, id).Union());
    };
    const uint64_t writes_before = pool->Stats().commit_writes;
    // Begun in order without waiting: the Get sees the first insert (applied, not durable).
    std::vector<Service::Pending> pending;
    pending.push_back(f.service->Begin(&f.session, insert(2, "first")));
    pending.push_back(f.service->Begin(&f.session, insert(3, "second")));
    pending.push_back(f.service->Begin(&f.session, get(4, 1)));
    CHECK(pool->Stats().commit_writes == writes_before);
    std::vector<std::string> responses;
    for (Service::Pending& p : pending) responses.push_back(f.service->Complete(std::move(p)));
    CHECK(pool->Stats().commit_writes == writes_before + 1);  // both inserts, one fsync
    Parsed first(responses[0]), second(responses[1]), got(responses[2]);
    CHECK(first.r->request_id() == 2);
    CHECK(first.r->body_as_InsertReply()->results()->Get(0)->id() == 1);
    CHECK(second.r->body_as_InsertReply()->results()->Get(0)->id() == 2);
    CHECK(got.r->code() == fb::Code::OK);
    CHECK(got.r->request_id() == 4);
    CHECK(first.r->durable_seq() >= 1);  // durable when answered
    CHECK(second.r->durable_seq() >= 2);

    // A failed group write: every pipelined mutation in it is UNKNOWN_OUTCOME, none OK.
    pool->TEST_FailWrites(Status::IOError("injected: disk gone"));
    pending.clear();
    pending.push_back(f.service->Begin(&f.session, insert(5, "third")));
    pending.push_back(f.service->Begin(&f.session, insert(6, "fourth")));
    for (Service::Pending& p : pending) {
      Parsed r(f.service->Complete(std::move(p)));
      CHECK(r.r->code() == fb::Code::UNKNOWN_OUTCOME);
      CHECK(r.r->body_type() == fb::ResponseBody::NONE);
    }
    CHECK(pool->Stats().pooled == 2);  // the index forgot both
  }

  TEST_CASE("CompleteWhenDurable answers once durable, and a failed write through offload") {
    Fixture f;
    const std::shared_ptr<Pool> pool = f.GreetAndCreatePool();
    auto insert = InsertRequest;
    std::vector<std::string> responses;
    std::vector<std::function<void()>> offloaded;
    auto respond = [&](std::string r) { responses.push_back(std::move(r)); };
    auto offload = [&](std::function<void()> task) { offloaded.push_back(std::move(task)); };

    // Nothing written yet when the first is begun; this thread writes it and is answered.
    f.service->CompleteWhenDurable(f.service->Begin(&f.session, insert(2, "first")), respond,
                                   offload);
    REQUIRE(responses.size() == 1);
    {
      Parsed r(responses[0]);
      CHECK(r.r->code() == fb::Code::OK);
      CHECK(r.r->request_id() == 2);
      CHECK(r.r->durable_seq() >= 1);
      CHECK(r.r->durable_seq() <= pool->durable_seq());
    }
    // A request that changes nothing (a read) is answered at once.
    {
      flatbuffers::FlatBufferBuilder b;
      f.service->CompleteWhenDurable(
          f.service->Begin(&f.session,
                           Finish(b, 3, "p", fb::RequestBody::Get, fb::CreateGet(b, 1).Union())),
          respond, offload);
    }
    REQUIRE(responses.size() == 2);
    CHECK(Parsed(responses[1]).r->code() == fb::Code::OK);
    CHECK(offloaded.empty());

    // A failed write: the answer is made by the offloaded task (which lets the pool rebuild),
    // never on the writing thread, and it is UNKNOWN_OUTCOME.
    pool->TEST_FailWrites(Status::IOError("injected: disk gone"));
    f.service->CompleteWhenDurable(f.service->Begin(&f.session, insert(4, "second")), respond,
                                   offload);
    CHECK(responses.size() == 2);
    REQUIRE(offloaded.size() == 1);
    offloaded[0]();
    REQUIRE(responses.size() == 3);
    Parsed failed(responses[2]);
    CHECK(failed.r->code() == fb::Code::UNKNOWN_OUTCOME);
    CHECK(failed.r->request_id() == 4);
    CHECK(pool->Stats().pooled == 1);  // the index forgot the lost insert
  }
}

}  // namespace heapa::net
