// Integration tests: heapad on 127.0.0.1 with an ephemeral port and a temporary directory,
// driven through net::Client and through raw sockets.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/client.h"
#include "net/frame.h"
#include "protocol_generated.h"
#include "tests/testutil/daemon.h"
#include "tests/testutil/raw_conn.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using net::Client;
using net::ClientOptions;
using testing::Daemon;
using testing::MakeQuery;
using testing::TempDir;

using testing::ConnectTo;
using testing::HelloBody;
using testing::Raw;
using testing::StatsBody;

}  // namespace

TEST_SUITE("net/heapad") {
  TEST_CASE("every verb works through the client") {
    TempDir dir;
    Daemon d(dir.Sub("data"));
    auto c = ConnectTo(d);
    PoolConfig config;
    config.max_size = 1000;
    config.refresh = RefreshMode::kChild;
    HEAPA_REQUIRE_OK(c->CreatePool("p", config));
    CHECK(c->CreatePool("p", config).code() == Status::Code::kAlreadyExists);
    CHECK(c->CreatePool("../evil", config).code() == Status::Code::kInvalidArgument);
    CHECK(*c->ListPools() == std::vector<std::string>{"p"});
    CHECK(c->GetConfig("p")->max_size == 1000);
    CHECK(c->Stats("nope").status().code() == Status::Code::kNotFound);

    auto ins = c->Insert("p", std::vector<NewQuery>{MakeQuery(1), MakeQuery(2, 0.5)});
    REQUIRE(ins.ok());
    CHECK((*ins)[0].created);
    SampleRequest req;
    req.count = 2;
    auto s = c->Sample("p", req);
    REQUIRE(s.ok());
    REQUIRE(s->size() == 2);
    CHECK((*s)[0].query.prompt == "q1");
    auto rep = c->Report("p", std::vector<ReportItem>{{(*s)[0].id, (*s)[0].lease, {1, 0}, 3}});
    REQUIRE(rep.ok());
    CHECK((*rep)[0] == ReportOutcome::kApplied);
    auto got = c->Get("p", (*s)[0].id);
    REQUIRE(got.ok());
    CHECK(got->state.state == QueryState::kArchived);
    CHECK(got->stats.rollouts == 2);
    CHECK(got->stats.m2 == doctest::Approx(0.5));
    const std::vector<QueryId> both = {(*s)[1].id, (*s)[0].id};
    auto many = c->GetMany("p", both);
    REQUIRE(many.ok());
    REQUIRE(many->size() == 2);
    CHECK((*many)[0].id == (*s)[1].id);
    CHECK((*many)[0].state.state == QueryState::kInFlight);
    CHECK((*many)[1].stats.rollouts == 2);
    const std::vector<QueryId> with_unknown = {(*s)[0].id, 999};
    auto unknown = c->GetMany("p", with_unknown);
    CHECK(unknown.status().code() == Status::Code::kNotFound);
    CHECK(unknown.status().ToString().find("get 999") != std::string::npos);

    NewChild kid;
    kid.parents = {(*s)[0].id};
    kid.prompt = "kid";
    kid.policy_difficulty = 1.25;
    auto ch = c->InsertChildren("p", std::vector<NewChild>{kid});
    REQUIRE(ch.ok());
    HEAPA_REQUIRE_OK(c->Validate("p", (*ch)[0].id, true, std::string("7"), 1.0));
    auto lin = c->Lineage("p", (*ch)[0].id, 4);
    REQUIRE(lin.ok());
    CHECK(lin->parents == std::vector<QueryId>{(*s)[0].id});
    auto refresh = c->Refresh("p", std::nullopt);
    REQUIRE(refresh.ok());
    CHECK(refresh->size() == 1);
    CHECK(*c->Recover("p") == 1);
    CHECK(*c->Reinsert("p") == 1);
    auto st = c->Stats("p");
    REQUIRE(st.ok());
    CHECK(st->pooled == 3);
    CHECK(st->counters.durable_seq > 0);

    HEAPA_REQUIRE_OK(c->Checkpoint("p", "t1"));
    const Hash128 at_t1 = *c->Digest("p");
    REQUIRE(c->Insert("p", std::vector<NewQuery>{MakeQuery(9)}).ok());
    CHECK(*c->Digest("p") != at_t1);
    CHECK(c->ListCheckpoints("p")->size() == 1);
    HEAPA_REQUIRE_OK(c->Restore("p", "t1"));
    CHECK(*c->Digest("p") == at_t1);
    HEAPA_REQUIRE_OK(c->Fork("p", "q", std::nullopt));
    CHECK(*c->Digest("q") == at_t1);
    HEAPA_REQUIRE_OK(c->VerifyIndex("p"));
    CHECK(c->VerifyIndex("nope").code() == Status::Code::kNotFound);
    HEAPA_REQUIRE_OK(c->DropPool("q"));
    CHECK(*c->ListPools() == std::vector<std::string>{"p"});
    CHECK(d.Stop() == 0);  // SIGTERM: a clean exit
  }

  TEST_CASE("a restart is invisible to a connected client, and a retry is not applied twice") {
    TempDir dir;
    Daemon d(dir.Sub("data"));
    auto a = ConnectTo(d, /*client_id=*/4242);
    HEAPA_REQUIRE_OK(a->CreatePool("p", PoolConfig{}));
    const std::vector<NewQuery> qs = {MakeQuery(1), MakeQuery(2)};
    auto first = a->Insert("p", qs);  // request id 1 of client 4242 (admin ids count apart)
    REQUIRE(first.ok());
    const uint64_t before = a->Stats("p")->counters.total_added;

    d.Kill();  // kill -9 while the client is connected
    d.Restart();
    // The client notices the broken connection, reconnects and goes on.
    auto st = a->Stats("p");
    INFO(st.status().ToString());
    REQUIRE(st.ok());
    CHECK(st->counters.total_added == before);

    // A reply lost in the crash: the same (client, request id) sent again, here by a fresh
    // connection that reuses the client id, returns the stored result and applies nothing.
    auto b = ConnectTo(d, /*client_id=*/4242);
    REQUIRE(b->CreatePool("other", PoolConfig{}).ok());  // an admin id: another name
    auto again = b->Insert("p", qs);                     // request id 1 again
    REQUIRE(again.ok());
    CHECK((*again)[0].id == (*first)[0].id);
    CHECK((*again)[0].created);  // the original answer
    CHECK(b->Stats("p")->counters.total_added == before);
  }

  TEST_CASE("pipelined reports apply in order, share fsyncs, and survive a restart once") {
    TempDir dir;
    Daemon d(dir.Sub("data"));
    // Retries for 11 s rather than the default 1.5 s: under TSan on a loaded 2-core machine the
    // restarted daemon once took longer than that to listen again, and the client gave up.
    auto c = ConnectTo(d, /*client_id=*/77, /*token=*/"", /*max_attempts=*/10);
    HEAPA_REQUIRE_OK(c->CreatePool("p", PoolConfig{}));
    constexpr int kQueries = 3000;
    std::vector<NewQuery> qs;
    for (int i = 0; i < kQueries; ++i) qs.push_back(MakeQuery(i));
    REQUIRE(c->Insert("p", qs).ok());
    SampleRequest req;
    req.count = kQueries;
    auto leased = c->Sample("p", req);
    REQUIRE(leased.ok());
    REQUIRE(leased->size() == static_cast<size_t>(kQueries));
    // One single-query report per request, in two pipelined calls.
    std::vector<std::vector<ReportItem>> reports;
    for (const SampledQuery& q : *leased) {
      reports.push_back({ReportItem{q.id, q.lease, {1.0, 0.0}, 3}});
    }
    const std::span<const std::vector<ReportItem>> all(reports);
    const auto before = c->Stats("p");
    REQUIRE(before.ok());
    auto first = c->ReportMany("p", all.subspan(0, 500));
    REQUIRE(first.ok());
    for (const auto& outcomes : *first) CHECK(outcomes == std::vector{ReportOutcome::kApplied});
    const auto mid = c->Stats("p");
    REQUIRE(mid.ok());
    const uint64_t writes = mid->commit_writes - before->commit_writes;
    const uint64_t ops = mid->commit_batches - before->commit_batches;
    INFO(writes << " writes for " << ops << " operations");
    CHECK(ops == 500);
    CHECK(writes < ops);  // pipelined requests of one connection shared fsyncs
    // ... and each of those writes reached fdatasync before its answers went out.
    CHECK(writes >= 1);
    CHECK(mid->wal_syncs - before->wal_syncs >= writes);

    // The rest, with the daemon killed and restarted meanwhile: the client resends what was
    // not answered, and nothing is applied twice or lost.
    // The kill waits until the daemon has applied some of the rest (watched by a second
    // client), so it falls inside the call however fast this machine runs.
    auto watcher = ConnectTo(d);
    std::thread killer([&] {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < give_up) {
        auto now = watcher->Stats("p");
        if (now.ok() && now->commit_batches >= mid->commit_batches + 100) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      d.Kill();
      d.Restart();
    });
    auto rest = c->ReportMany("p", all.subspan(500));
    killer.join();
    INFO(rest.status().ToString());
    REQUIRE(rest.ok());
    for (const auto& outcomes : *rest) CHECK(outcomes == std::vector{ReportOutcome::kApplied});
    const auto after = c->Stats("p");
    REQUIRE(after.ok());
    CHECK(after->counters.total_reports == before->counters.total_reports + kQueries);
    CHECK(after->in_flight == 0);
    // The restart fell inside the call: the new daemon applied some of the rest, not all.
    MESSAGE("operations since the restart: " << after->commit_batches);
    CHECK(after->commit_batches > 0);
    CHECK(after->commit_batches < static_cast<uint64_t>(kQueries - 500));
  }

  TEST_CASE("pipelined inserts give ids in the order of the batches, and one bad batch its error") {
    TempDir dir;
    Daemon d(dir.Sub("data"));
    auto c = ConnectTo(d);
    HEAPA_REQUIRE_OK(c->CreatePool("p", PoolConfig{}));
    std::vector<std::vector<NewQuery>> batches(3);
    for (int i = 0; i < 300; ++i) batches[i / 100].push_back(MakeQuery(i));
    batches[2][0] = MakeQuery(5);  // a duplicate of the first batch's sixth query
    auto ins = c->InsertMany("p", batches);
    REQUIRE(ins.ok());
    REQUIRE(ins->size() == 3);
    QueryId next = 1;
    for (size_t b = 0; b < 3; ++b) {
      REQUIRE((*ins)[b].size() == 100);
      for (size_t i = 0; i < 100; ++i) {
        CAPTURE(b);
        CAPTURE(i);
        const InsertResult& r = (*ins)[b][i];
        if (b == 2 && i == 0) {
          CHECK_FALSE(r.created);
          CHECK(r.id == (*ins)[0][5].id);
        } else {
          CHECK(r.created);
          CHECK(r.id == next++);
        }
      }
    }
    // A rejected batch fails the call with its error; the batches around it were applied.
    std::vector<std::vector<NewQuery>> with_bad = {
        {MakeQuery(1000)}, {NewQuery{}}, {MakeQuery(1001)}};
    auto bad = c->InsertMany("p", with_bad);
    CHECK(bad.status().code() == Status::Code::kInvalidArgument);
    CHECK(bad.status().ToString().find("insert 1") != std::string::npos);
    auto again = c->Insert("p", std::vector<NewQuery>{MakeQuery(1000), MakeQuery(1001)});
    REQUIRE(again.ok());
    CHECK((*again)[0].id == next);
    CHECK((*again)[1].id == next + 1);
    CHECK_FALSE((*again)[0].created);
    CHECK_FALSE((*again)[1].created);
  }

  TEST_CASE("two trainers use two pools at once") {
    TempDir dir;
    Daemon d(dir.Sub("data"));
    {
      auto admin = ConnectTo(d);
      HEAPA_REQUIRE_OK(admin->CreatePool("a", PoolConfig{}));
      HEAPA_REQUIRE_OK(admin->CreatePool("b", PoolConfig{}));
    }
    auto trainer = [&](const std::string& pool, int* reports) {
      auto c = ConnectTo(d);
      std::vector<NewQuery> qs;
      for (int i = 0; i < 200; ++i) qs.push_back(MakeQuery(i));
      REQUIRE(c->Insert(pool, qs).ok());
      for (int step = 0; step < 20; ++step) {
        SampleRequest req;
        req.count = 16;
        auto s = c->Sample(pool, req);
        REQUIRE(s.ok());
        std::vector<ReportItem> items;
        for (const SampledQuery& q : *s) items.push_back({q.id, q.lease, {1, -1, 1}, step});
        auto r = c->Report(pool, items);
        REQUIRE(r.ok());
        *reports += static_cast<int>(r->size());
      }
    };
    int ra = 0, rb = 0;
    std::thread ta(trainer, "a", &ra);
    std::thread tb(trainer, "b", &rb);
    ta.join();
    tb.join();
    auto c = ConnectTo(d);
    CHECK(c->Stats("a")->counters.total_reports == static_cast<uint64_t>(ra));
    CHECK(c->Stats("b")->counters.total_reports == static_cast<uint64_t>(rb));
    CHECK(ra == 320);
  }

  TEST_CASE("malformed, truncated, oversize and wrong-version frames each get their error") {
    TempDir dir;
    Daemon d(dir.Sub("data"), {"--max-frame-bytes", "4096"});
    auto canary = ConnectTo(d);
    HEAPA_REQUIRE_OK(canary->CreatePool("p", PoolConfig{}));
    {
      Raw r(d.port());
      r.SendFrame(HelloBody(99));
      CHECK(r.ReadCode() == net::fb::Code::UNSUPPORTED_VERSION);
      CHECK(r.Closed());
    }
    {
      Raw r(d.port());
      r.SendFrame(StatsBody("p"));  // no Hello first
      CHECK(r.ReadCode() == net::fb::Code::BAD_REQUEST);
      CHECK(r.Closed());
    }
    {
      Raw r(d.port());
      r.SendFrame(HelloBody(1));
      CHECK(r.ReadCode() == net::fb::Code::OK);
      r.SendFrame("this is not a flatbuffer at all");
      CHECK(r.ReadCode() == net::fb::Code::BAD_REQUEST);
      r.SendFrame(StatsBody("p"));  // the connection is still usable
      CHECK(r.ReadCode() == net::fb::Code::OK);
    }
    {
      Raw r(d.port());
      r.Send(std::string("\xff\xff\xff\x7f", 4));  // 2 GiB announced: never allocated
      CHECK(r.ReadCode() == net::fb::Code::FRAME_TOO_LARGE);
      CHECK(r.Closed());
    }
    {
      Raw r(d.port());
      r.Send(std::string("\x64\x00\x00\x00", 4) + "only ten b");  // truncated, then gone
    }
    {
      Raw r(d.port());
      r.SendFrame(std::string(64, '\0'));
      CHECK(r.ReadCode() == net::fb::Code::BAD_REQUEST);
    }
    CHECK(canary->Stats("p").ok());  // service continued throughout
  }

  TEST_CASE("framing: many frames per read, split headers, large frames, a timeout per frame") {
    TempDir dir;
    Daemon d(dir.Sub("data"), {"--frame-timeout-ms", "600"});
    auto canary = ConnectTo(d);
    HEAPA_REQUIRE_OK(canary->CreatePool("p", PoolConfig{}));
    auto framed = [](const std::string& body) {
      std::string out;
      net::AppendFrame(body, &out);
      return out;
    };
    {
      // A Hello and 30 requests in one write: every one answered, in order.
      Raw r(d.port());
      std::string burst = framed(HelloBody(1));
      for (int i = 0; i < 30; ++i) burst += framed(StatsBody("p"));
      r.Send(burst);
      for (int i = 0; i < 31; ++i) {
        INFO("response " << i);
        REQUIRE(r.ReadCode() == net::fb::Code::OK);
      }
      // A header split across writes, then a body split too.
      const std::string stats = framed(StatsBody("p"));
      r.Send(stats.substr(0, 2));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      r.Send(stats.substr(2, 5));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      r.Send(stats.substr(7));
      CHECK(r.ReadCode() == net::fb::Code::OK);
      // A frame far larger than a read: an unknown pool with a 200 KB name.
      r.SendFrame(StatsBody(std::string(200000, 'x')));
      CHECK(r.ReadCode() == net::fb::Code::NOT_FOUND);
      // Reads that each end inside a frame, for longer than the frame timeout in all: every
      // frame completes within its own timeout, so the connection stays.
      constexpr int kStreamed = 12;
      std::string stream;
      for (int i = 0; i < kStreamed; ++i) stream += stats;
      const size_t piece = stats.size() + stats.size() / 3 + 1;  // no write ends on a frame
      for (size_t at = 0; at < stream.size(); at += piece) {
        r.Send(stream.substr(at, piece));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      for (int i = 0; i < kStreamed; ++i) {
        INFO("streamed response " << i);
        CHECK(r.ReadCode() == net::fb::Code::OK);
      }
      // Half a frame, then silence: closed after the frame timeout.
      r.Send(stats.substr(0, stats.size() / 2));
      CHECK(r.Closed());
    }
    {
      // An oversize header behind a valid request: the request's answer first, then the error.
      Raw r(d.port());
      r.Send(framed(HelloBody(1)) + framed(StatsBody("p")) + std::string("\xff\xff\xff\x7f", 4));
      CHECK(r.ReadCode() == net::fb::Code::OK);
      CHECK(r.ReadCode() == net::fb::Code::OK);
      CHECK(r.ReadCode() == net::fb::Code::FRAME_TOO_LARGE);
      CHECK(r.Closed());
    }
    {
      // A failed handshake with requests behind it in the same write: only its answer.
      Raw r(d.port());
      r.Send(framed(HelloBody(99)) + framed(StatsBody("p")) + framed(StatsBody("p")));
      CHECK(r.ReadCode() == net::fb::Code::UNSUPPORTED_VERSION);
      CHECK(r.Closed());
    }
    CHECK(canary->Stats("p").ok());
  }

  TEST_CASE("1,000 idle connections do not stop a working client") {
    rlimit files{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
    if (files.rlim_cur < 1100 && files.rlim_max >= 1100) {
      files.rlim_cur = files.rlim_max;
      REQUIRE(::setrlimit(RLIMIT_NOFILE, &files) == 0);
    }
    REQUIRE(files.rlim_cur >= 1100);
    TempDir dir;
    Daemon d(dir.Sub("data"));
    auto c = ConnectTo(d);
    HEAPA_REQUIRE_OK(c->CreatePool("p", PoolConfig{}));
    std::vector<NewQuery> qs;
    for (int i = 0; i < 100; ++i) qs.push_back(MakeQuery(i));
    REQUIRE(c->Insert("p", qs).ok());
    std::vector<std::unique_ptr<Raw>> idle;
    for (int i = 0; i < 1000; ++i) idle.push_back(std::make_unique<Raw>(d.port()));
    for (int step = 0; step < 20; ++step) {
      SampleRequest req;
      req.count = 4;
      auto s = c->Sample("p", req);
      REQUIRE(s.ok());
      std::vector<ReportItem> items;
      for (const SampledQuery& q : *s) items.push_back({q.id, q.lease, {1, -1}, step});
      REQUIRE(c->Report("p", items).ok());
    }
    auto fresh = ConnectTo(d);  // a new client still gets in
    CHECK(fresh->Stats("p")->counters.total_reports == 80);
  }

  TEST_CASE("auth tokens and the connection limit") {
    TempDir dir;
    const std::string token_file = dir.Sub("token");
    std::ofstream(token_file) << "s3cret\n";
    Daemon d(dir.Sub("data"), {"--auth-token-file", token_file, "--max-connections", "2"});
    ClientOptions o;
    o.port = d.port();
    o.max_attempts = 1;
    CHECK(Client::Connect(o).status().code() == Status::Code::kFailedPrecondition);
    auto c1 = ConnectTo(d, 0, "s3cret");
    auto c2 = ConnectTo(d, 0, "s3cret");
    Raw third(d.port());
    CHECK(third.ReadCode() == net::fb::Code::TOO_MANY_CONNECTIONS);
    CHECK(c1->ListPools().ok());
  }
}

}  // namespace heapa
