// net::Server in this process (so that a whole-pool request can be held inside it): its
// threads, and what a held request may and may not hold back.
#include "net/server.h"

#include <doctest/doctest.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "net/client.h"
#include "net/frame.h"
#include "protocol_generated.h"
#include "tests/testutil/raw_conn.h"
#include "tests/testutil/test_util.h"

namespace heapa::net {
namespace {

// A server on 127.0.0.1 (ephemeral port) over pools in a temporary directory, run on a
// thread of its own until the fixture goes.
struct RunningServer {
  RunningServer(ServerOptions so, ServiceOptions service_options) {
    auto reg = PoolRegistry::Open(dir.path(), PoolOptions{});
    REQUIRE(reg.ok());
    registry = std::move(reg).value();
    service = std::make_unique<Service>(registry.get(), std::move(service_options));
    so.host = "127.0.0.1";
    so.port = 0;
    server = std::make_unique<Server>(service.get(), so);
    HEAPA_REQUIRE_OK(server->Start());
    thread = std::thread([this] {
      server->Run();
      ran_out.set_value();
    });
  }
  ~RunningServer() {
    server->Stop();
    thread.join();
  }
  std::unique_ptr<Client> Connect() {
    ClientOptions o;
    o.port = server->port();
    o.timeout_ms = 20'000;
    o.max_attempts = 1;  // a request held back fails the test instead of being resent
    auto c = Client::Connect(o);
    REQUIRE(c.ok());
    return std::move(c).value();
  }

  testing::TempDir dir;
  std::unique_ptr<PoolRegistry> registry;
  std::unique_ptr<Service> service;
  std::unique_ptr<Server> server;
  std::promise<void> ran_out;  // set when Run() returns
  std::thread thread;
};

// A request of `type` (Insert of one query `prompt`, Digest or PoolStats) on pool "p".
std::string Request(uint64_t rid, fb::RequestBody type, const std::string& prompt = "") {
  flatbuffers::FlatBufferBuilder b;
  flatbuffers::Offset<void> body;
  if (type == fb::RequestBody::Insert) {
    const auto q = fb::CreateQuery(b, b.CreateString(prompt), b.CreateString("a"));
    body = fb::CreateInsert(b, b.CreateVector(std::vector{q})).Union();
  } else if (type == fb::RequestBody::Digest) {
    body = fb::CreateDigest(b).Union();
  } else {
    body = fb::CreatePoolStats(b).Union();
  }
  b.Finish(fb::CreateRequest(b, rid, b.CreateString("p"), type, body));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

// Holds the (one) whole-pool request of a test in ServiceOptions::TEST_admin_hook until the
// gate opens. Declare an OpenOnExit on the gate after the server.
struct HeldAdminRequest {
  ServiceOptions Options() {
    ServiceOptions o;
    o.TEST_admin_hook = [this] {
      entered.set_value();
      gate.Wait();
    };
    return o;
  }
  void AwaitEntered() {
    REQUIRE(entered.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  }
  testing::Gate gate;
  std::promise<void> entered;
};

// Inserts queries 0..n-1 of testing::MakeQuery into pool "p", created first.
void Fill(Client* c, int n) {
  HEAPA_REQUIRE_OK(c->CreatePool("p", PoolConfig{}));
  std::vector<NewQuery> queries;
  for (int i = 0; i < n; ++i) queries.push_back(testing::MakeQuery(i));
  REQUIRE(c->Insert("p", queries).ok());
}

// One request at a time: a Sample of `count` with texts, each checked against what was
// inserted, then its Report; then Stats.
void SampleAndReport(Client* c, size_t count, int rounds) {
  const auto before = c->Stats("p");
  REQUIRE(before.ok());
  for (int round = 0; round < rounds; ++round) {
    CAPTURE(round);
    SampleRequest req;
    req.count = count;
    req.with_content = true;
    auto got = c->Sample("p", req);
    REQUIRE(got.ok());
    REQUIRE(got->size() == count);
    for (const SampledQuery& q : *got) {
      CHECK(q.query.prompt == "q" + std::to_string(q.id - 1));
      auto outcomes = c->Report("p", std::vector{ReportItem{q.id, q.lease, {0.5}, round}});
      REQUIRE(outcomes.ok());
      CHECK(*outcomes == std::vector{ReportOutcome::kApplied});
    }
  }
  const auto after = c->Stats("p");
  REQUIRE(after.ok());
  CHECK(after->counters.total_reports - before->counters.total_reports == count * rounds);
}

// A Sample of `count`, then one Report request each, pipelined (ReportMany): all applied.
void SampleAndReportPipelined(Client* c, size_t count) {
  SampleRequest req;
  req.count = count;
  auto got = c->Sample("p", req);
  REQUIRE(got.ok());
  REQUIRE(got->size() == count);
  std::vector<std::vector<ReportItem>> reports;
  for (const SampledQuery& q : *got) reports.push_back({ReportItem{q.id, q.lease, {1.0}, 1}});
  auto outcomes = c->ReportMany("p", reports);
  REQUIRE(outcomes.ok());
  REQUIRE(outcomes->size() == count);
  for (const auto& o : *outcomes) CHECK(o == std::vector{ReportOutcome::kApplied});
}

TEST_SUITE("net/server") {
  TEST_CASE("a held whole-pool request does not hold the only worker, its connection goes on") {
    testing::Gate gate;
    std::promise<void> entered;
    std::atomic<int> admitted{0};
    ServiceOptions service_options;
    service_options.max_admin_requests = 1;
    service_options.TEST_admin_hook = [&] {
      if (admitted++ > 0) return;
      entered.set_value();
      gate.Wait();  // the first one is held until the test lets it go
    };
    ServerOptions so;
    so.worker_threads = 1;  // the held Digest must not be running on it (one admin thread)
    RunningServer s(so, std::move(service_options));

    auto a = s.Connect();
    HEAPA_REQUIRE_OK(a->CreatePool("p", PoolConfig{}));
    REQUIRE(a->Insert("p", std::vector<NewQuery>{testing::MakeQuery(1)}).ok());
    std::future<Result<Hash128>> held =
        std::async(std::launch::async, [&] { return a->Digest("p"); });
    // Declared after the server and the future: a failed check opens the gate first, so that
    // neither waits for it on the way out.
    const testing::OpenOnExit open_on_exit(&gate);
    REQUIRE(entered.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);

    // Another client's training requests go through the one worker meanwhile.
    auto b = s.Connect();
    REQUIRE(b->Insert("p", std::vector<NewQuery>{testing::MakeQuery(2)}).ok());
    SampleRequest req;
    req.count = 2;
    auto leased = b->Sample("p", req);
    REQUIRE(leased.ok());
    REQUIRE(leased->size() == 2);
    for (const SampledQuery& q : *leased) {
      auto outcomes = b->Report("p", std::vector{ReportItem{q.id, q.lease, {1.0}, 1}});
      REQUIRE(outcomes.ok());
      CHECK(*outcomes == std::vector{ReportOutcome::kApplied});
    }
    // A second whole-pool request finds the slot taken, at once.
    CHECK(b->Digest("p").status().code() == Status::Code::kResourceExhausted);
    auto stats = b->Stats("p");
    REQUIRE(stats.ok());
    CHECK(stats->counters.total_reports == 2);

    gate.Open();
    HEAPA_REQUIRE_OK(held.get().status());
    // a's connection goes on after its held request, and the slot was given back.
    REQUIRE(a->Insert("p", std::vector<NewQuery>{testing::MakeQuery(3)}).ok());
    HEAPA_REQUIRE_OK(a->Digest("p").status());
    HEAPA_REQUIRE_OK(b->Digest("p").status());
  }

  TEST_CASE("whole-pool requests pipelined between others are answered in order") {
    ServiceOptions service_options;
    service_options.max_admin_requests = 1;  // the second Digest needs the first one's slot
    ServerOptions so;
    so.worker_threads = 1;
    RunningServer s(so, std::move(service_options));
    HEAPA_REQUIRE_OK(s.Connect()->CreatePool("p", PoolConfig{}));
    testing::Raw raw(s.server->port());
    raw.SendFrame(testing::HelloBody(kProtocolVersion));
    const std::vector<std::pair<fb::RequestBody, fb::ResponseBody>> sent = {
        {fb::RequestBody::Insert, fb::ResponseBody::InsertReply},
        {fb::RequestBody::Digest, fb::ResponseBody::DigestReply},
        {fb::RequestBody::Insert, fb::ResponseBody::InsertReply},
        {fb::RequestBody::Digest, fb::ResponseBody::DigestReply},
        {fb::RequestBody::Digest, fb::ResponseBody::DigestReply},
        {fb::RequestBody::PoolStats, fb::ResponseBody::PoolStatsReply},
    };
    std::string frames;  // all in one write: the daemon reads them as one batch
    for (size_t i = 0; i < sent.size(); ++i) {
      AppendFrame(Request(i + 1, sent[i].first, "q" + std::to_string(i)), &frames);
    }
    raw.Send(frames);
    const auto hello = raw.ReadResponse();
    REQUIRE(hello.has_value());
    CHECK(hello->code == fb::Code::OK);
    for (size_t i = 0; i < sent.size(); ++i) {
      CAPTURE(i);
      const auto r = raw.ReadResponse();
      REQUIRE(r.has_value());
      CHECK(r->request_id == i + 1);
      CHECK(r->code == fb::Code::OK);
      CHECK(r->body_type == sent[i].second);
    }
    auto stats = s.Connect()->Stats("p");
    REQUIRE(stats.ok());
    CHECK(stats->counters.total_added == 2);
  }

  TEST_CASE("a lone request's response is sent by the thread that completes it") {
    RunningServer s(ServerOptions{}, ServiceOptions{});
    auto c = s.Connect();
    Fill(c.get(), 64);
    const uint64_t before = s.server->direct_replies();
    constexpr int kRounds = 10;
    SampleAndReport(c.get(), 2, kRounds);
    // 3 requests a round, each the connection's only one: nearly all go out without the I/O
    // thread (not one during which a read completes, the client's next frame in pieces, say).
    CHECK(s.server->direct_replies() - before >= 2 * kRounds);
    // Pipelined requests after lone ones, and lone ones after them, in order.
    SampleAndReportPipelined(c.get(), 8);
    SampleAndReport(c.get(), 1, 3);
  }

  TEST_CASE("requests held back by max_pipelined_writes 1 are not left behind a lone one") {
    ServerOptions so;
    so.max_pipelined_writes = 1;  // one request at a time: each dispatched with others queued
    RunningServer s(so, ServiceOptions{});
    auto c = s.Connect();
    Fill(c.get(), 64);
    for (int round = 0; round < 3; ++round) {
      CAPTURE(round);
      SampleAndReportPipelined(c.get(), 8);
    }
  }

  TEST_CASE("what the socket does not take of a lone response goes out through the I/O thread") {
    for (size_t limit : {size_t{0}, size_t{3}, size_t{4}, size_t{100}}) {
      CAPTURE(limit);
      ServerOptions so;
      so.TEST_max_direct_send_bytes = limit;  // nothing, part of the header, all of it, more
      RunningServer s(so, ServiceOptions{});
      auto c = s.Connect();
      Fill(c.get(), 64);
      const uint64_t before = s.server->direct_replies();
      SampleAndReport(c.get(), 16, 3);
      const uint64_t direct = s.server->direct_replies() - before;
      // None of the 3 samples (16 texts each, more than 100 bytes) went whole; with the limit
      // at most the header, nothing did.
      CHECK(direct <= (limit <= kFrameHeaderBytes ? 0 : 16 * 3 + 2));
    }
  }

  TEST_CASE("a stop while a lone request is being applied answers it, then returns") {
    HeldAdminRequest admin;
    ServerOptions so;
    so.shutdown_timeout_ms = 60'000;  // armed, as a request is under way: returns long before
    RunningServer s(so, admin.Options());
    auto c = s.Connect();
    Fill(c.get(), 4);
    std::future<Result<Hash128>> held =
        std::async(std::launch::async, [&] { return c->Digest("p"); });
    const testing::OpenOnExit open_on_exit(&admin.gate);
    admin.AwaitEntered();
    s.server->Stop();  // the held Digest's slot was lent to its worker: the stop takes it back
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    admin.gate.Open();
    HEAPA_REQUIRE_OK(held.get().status());
    CHECK(s.ran_out.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  }

  TEST_CASE("a request read while its connection's batch waits for an admin thread follows it") {
    HeldAdminRequest admin;
    ServerOptions so;
    so.worker_threads = 1;
    RunningServer s(so, admin.Options());
    HEAPA_REQUIRE_OK(s.Connect()->CreatePool("p", PoolConfig{}));
    testing::Raw raw(s.server->port());
    raw.SendFrame(testing::HelloBody(kProtocolVersion));
    raw.SendFrame(Request(1, fb::RequestBody::Digest));
    const testing::OpenOnExit open_on_exit(&admin.gate);
    admin.AwaitEntered();
    // The Digest is held on an admin thread while its batch is still being applied: this one
    // arrives then, is not begun before the Digest, and is answered after it.
    raw.SendFrame(Request(2, fb::RequestBody::Insert, "late"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    admin.gate.Open();
    for (uint64_t rid = 0; rid <= 2; ++rid) {  // the Hello, then requests 1 and 2
      CAPTURE(rid);
      const auto r = raw.ReadResponse();
      REQUIRE(r.has_value());
      CHECK(r->request_id == rid);
      CHECK(r->code == fb::Code::OK);
    }
  }

  // Waits until the server counts `n` direct replies (it counts each once it is sent).
  void AwaitDirectReplies(const Server& server, uint64_t n) {
    for (int i = 0; i < 5000 && server.direct_replies() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server.direct_replies() >= n);
  }

  TEST_CASE("a burst after a direct reply is read whole, up to max_pending_requests") {
    ServerOptions so;
    so.max_pending_requests = 3;  // the slot answered directly must not count against these
    RunningServer s(so, ServiceOptions{});
    HEAPA_REQUIRE_OK(s.registry->Create("p", PoolConfig{}));  // no request: none counted yet
    testing::Raw raw(s.server->port());
    raw.SendFrame(testing::HelloBody(kProtocolVersion));
    REQUIRE(raw.ReadResponse().has_value());
    AwaitDirectReplies(*s.server, 1);  // the Hello went out directly
    std::string burst;
    for (uint64_t rid = 1; rid <= 3; ++rid)
      AppendFrame(Request(rid, fb::RequestBody::PoolStats), &burst);
    raw.Send(burst);  // read at once: all three fit the limit once the Hello's slot is retired
    for (uint64_t rid = 1; rid <= 3; ++rid) {
      CAPTURE(rid);
      const auto r = raw.ReadResponse();
      REQUIRE(r.has_value());
      CHECK(r->request_id == rid);
      CHECK(r->code == fb::Code::OK);
    }
  }

  TEST_CASE("a stop after a direct reply closes the connection and returns") {
    RunningServer s(ServerOptions{}, ServiceOptions{});
    testing::Raw raw(s.server->port());
    raw.SendFrame(testing::HelloBody(kProtocolVersion));
    REQUIRE(raw.ReadResponse().has_value());
    AwaitDirectReplies(*s.server, 1);  // the Hello went out directly
    s.server->Stop();                  // the connection stays open on the client's side, idle
    CHECK(raw.Closed());
    CHECK(s.ran_out.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  }

  TEST_CASE("a connection idle for idle_timeout_ms is closed, one sending requests is not") {
    ServerOptions so;
    so.idle_timeout_ms = 300;
    RunningServer s(so, ServiceOptions{});
    testing::Raw idle(s.server->port());
    testing::Raw busy(s.server->port());
    busy.SendFrame(testing::HelloBody(kProtocolVersion));
    REQUIRE(busy.ReadResponse().has_value());
    // Four idle timeouts long, never idle for one: a request every 100 ms.
    for (int i = 0; i < 12; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      busy.SendFrame(testing::StatsBody("no-such-pool"));
      CAPTURE(i);
      REQUIRE(busy.ReadCode() == fb::Code::NOT_FOUND);
    }
    CHECK(idle.Closed());  // long past its timeout: the server closed it
    busy.SendFrame(testing::StatsBody("no-such-pool"));
    CHECK(busy.ReadCode() == fb::Code::NOT_FOUND);
  }

  TEST_CASE("a stop closes a connection that reads no responses after shutdown_timeout_ms") {
    ServerOptions so;
    so.shutdown_timeout_ms = 300;
    so.max_output_bytes = 64 << 10;  // reading pauses soon
    RunningServer s(so, ServiceOptions{});
    testing::Raw raw(s.server->port());
    raw.SendFrame(testing::HelloBody(kProtocolVersion));
    REQUIRE(raw.ReadResponse().has_value());
    // Requests, never reading their answers, until the server has stopped reading them (our
    // sends block for half a second): its output is stuck.
    std::string frame(kFrameHeaderBytes, '\0');
    EncodeFrameLength(static_cast<uint32_t>(testing::StatsBody("no-such-pool").size()),
                      reinterpret_cast<unsigned char*>(frame.data()));
    frame += testing::StatsBody("no-such-pool");
    std::string burst;
    for (int i = 0; i < 256; ++i) burst += frame;
    auto blocked_since = std::chrono::steady_clock::now();
    size_t sent = 0;
    for (;;) {
      const ssize_t n = ::send(raw.fd(), burst.data() + sent % burst.size(),
                               burst.size() - sent % burst.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      const auto now = std::chrono::steady_clock::now();
      if (n > 0) {
        sent += static_cast<size_t>(n);
        blocked_since = now;
      } else {
        REQUIRE(errno == EAGAIN);
        if (now - blocked_since > std::chrono::milliseconds(500)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      REQUIRE(sent < (size_t{256} << 20));  // the server must stop reading at some point
    }
    const auto stop = std::chrono::steady_clock::now();
    s.server->Stop();
    CHECK(s.ran_out.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(std::chrono::steady_clock::now() - stop >= std::chrono::milliseconds(300));
  }
}

}  // namespace
}  // namespace heapa::net
