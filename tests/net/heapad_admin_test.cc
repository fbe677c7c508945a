// Admin requests cut by a crash (issue #4, exactly once): heapad dies just before or just after
// a create, fork, checkpoint, restore or drop publishes its result; the client, resending the
// same request (same client and request id) once the daemon is back, is answered OK, and the
// effect is there exactly once (before: applied by the resend; after: recognised by the
// request marker, storage/request_marker.h).
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/client.h"
#include "storage/failpoint.h"
#include "tests/testutil/daemon.h"
#include "tests/testutil/metrics_page.h"
#include "tests/testutil/raw_conn.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using testing::ConnectTo;
using testing::Daemon;
using testing::MakeQuery;
using testing::TempDir;

struct AdminCase {
  const char* name;
  std::function<Status(net::Client&)> op;
  std::function<void(net::Client&)> check;  // the effect, once
  bool switches_live = false;               // it moves a pool's LIVE file (PoolDir::SwitchLive)
  const char* made = nullptr;               // the pool it makes, if any
};

std::vector<std::string> Tags(net::Client& c, const std::string& pool) {
  auto list = c.ListCheckpoints(pool);
  REQUIRE(list.ok());
  std::vector<std::string> out;
  for (const auto& info : *list) out.push_back(info.tag);
  return out;
}

// A client that waits `timeout_ms` for an answer and tries twice, 20 ms apart, before it gives
// up on a request.
std::unique_ptr<net::Client> ImpatientClient(const Daemon& d, uint64_t client_id, int timeout_ms) {
  net::ClientOptions o;
  o.port = d.port();
  o.client_id = client_id;
  o.timeout_ms = timeout_ms;
  o.max_attempts = 2;
  o.retry_backoff_ms = 20;
  auto client = net::Client::Connect(o);
  REQUIRE(client.ok());
  return std::move(client).value();
}

// No admin request had an effect: pool "p" serves its 3 queries (and takes a 4th), alone,
// with its one checkpoint.
void Unchanged(net::Client& c) {
  CHECK(*c.ListPools() == std::vector<std::string>{"p"});
  CHECK(Tags(c, "p") == std::vector<std::string>{"t"});
  HEAPA_REQUIRE_OK(c.Insert("p", std::vector<NewQuery>{MakeQuery(4)}).status());
  CHECK(c.Stats("p")->pooled == 4);
}

std::vector<AdminCase> Cases() {
  using Names = std::vector<std::string>;
  return {
      {"create", [](net::Client& c) { return c.CreatePool("n", PoolConfig{}); },
       [](net::Client& c) {
         CHECK(*c.ListPools() == Names{"n", "p"});
       },
       /*switches_live=*/true, /*made=*/"n"},
      {"fork", [](net::Client& c) { return c.Fork("p", "f", std::nullopt); },
       [](net::Client& c) {
         CHECK(*c.ListPools() == Names{"f", "p"});
         CHECK(c.Stats("f")->pooled == 3);
       },
       /*switches_live=*/true, /*made=*/"f"},
      {"checkpoint", [](net::Client& c) { return c.Checkpoint("p", "u"); },
       [](net::Client& c) {
         CHECK(Tags(c, "p") == Names{"t", "u"});
       }},
      {"restore", [](net::Client& c) { return c.Restore("p", "t"); },
       [](net::Client& c) { CHECK(c.Stats("p")->pooled == 2); }, /*switches_live=*/true},
      {"drop", [](net::Client& c) { return c.DropPool("p"); },
       [](net::Client& c) { CHECK(c.ListPools()->empty()); }},
  };
}

// Makes pool "p" (checkpoint "t" holds 2 queries, the pool 3; `dropped_before`: a pool of
// that name was dropped first), then restarts `d` with `env` (a failpoint spec).
void SetUpPool(Daemon& d, const std::string& env, bool dropped_before = false) {
  {
    auto setup = ConnectTo(d);
    HEAPA_REQUIRE_OK(setup->CreatePool("p", PoolConfig{}));
    if (dropped_before) {
      HEAPA_REQUIRE_OK(setup->DropPool("p"));
      HEAPA_REQUIRE_OK(setup->CreatePool("p", PoolConfig{}));
    }
    REQUIRE(setup->Insert("p", std::vector<NewQuery>{MakeQuery(1), MakeQuery(2)}).ok());
    HEAPA_REQUIRE_OK(setup->Checkpoint("p", "t"));
    REQUIRE(setup->Insert("p", std::vector<NewQuery>{MakeQuery(3)}).ok());
  }
  REQUIRE(d.Stop() == 0);
  d.set_env({env});
  d.Restart();
}

}  // namespace

TEST_SUITE("net/heapad_admin") {
  TEST_CASE("an admin request cut by a crash is resent and applied exactly once") {
    for (const char* point : {"admin.before_publish", "admin.after_publish"}) {
      for (const AdminCase& c : Cases()) {
        CAPTURE(point);
        CAPTURE(c.name);
        TempDir dir;
        Daemon d(dir.Sub("data"));
        SetUpPool(d, std::string("HEAPA_FAILPOINTS=") + point);
        // Enough attempts to outlast the restart (the backoff is capped at 2 s).
        auto client = ConnectTo(d, /*client_id=*/77, "", /*max_attempts=*/60);
        auto result = std::async(std::launch::async, [&] { return c.op(*client); });
        const int status = d.Wait();
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == storage::kFailpointExitCode));
        d.set_env({});
        d.Restart();
        const Status s = result.get();
        INFO(s.ToString());
        CHECK(s.ok());
        c.check(*client);
      }
    }
  }

  TEST_CASE("an admin request failing after it published is UnknownOutcome, its resend is OK") {
    // A disk error after the rename that publishes the result (the directory's fsync, the
    // pool's open) does not undo it: the reply must not say "not applied", and the resend
    // with the same id completes it (syncs, opens) and is OK, the effect there once.
    uint64_t client_id = 90;
    for (const AdminCase& c : Cases()) {
      CAPTURE(c.name);
      TempDir dir;
      Daemon d(dir.Sub("data"));
      SetUpPool(d, "HEAPA_FAILPOINTS=admin.after_publish=error");
      ++client_id;
      const Status s = c.op(*ConnectTo(d, client_id));
      INFO(s.ToString());
      CHECK(s.code() == Status::Code::kUnknownOutcome);
      if (std::string_view(c.name) == "restore") {  // closed: no stale figures of its old index
        CHECK(ConnectTo(d)->Stats("p")->pooled == 0);
      }
      auto again = ConnectTo(d, client_id);  // its first admin request has the same id
      const Status resent = c.op(*again);
      INFO(resent.ToString());
      CHECK(resent.ok());
      c.check(*again);
    }
  }

  TEST_CASE("a fork that failed after publishing, resent after its source was dropped, is OK") {
    // The new pool is published but not open; the resend must open it, not answer from its
    // marker alone (nor NOT_FOUND for the source that is gone).
    TempDir dir;
    Daemon d(dir.Sub("data"));
    SetUpPool(d, "HEAPA_FAILPOINTS=admin.after_publish=error");
    const Status s = ConnectTo(d, /*client_id=*/98)->Fork("p", "f", std::nullopt);
    INFO(s.ToString());
    CHECK(s.code() == Status::Code::kUnknownOutcome);
    auto other = ConnectTo(d);
    HEAPA_REQUIRE_OK(other->DropPool("p"));
    auto again = ConnectTo(d, /*client_id=*/98);
    HEAPA_REQUIRE_OK(again->Fork("p", "f", std::nullopt));  // the same id
    CHECK(*again->ListPools() == std::vector<std::string>{"f"});
    CHECK(again->Stats("f")->pooled == 3);
  }

  TEST_CASE("an admin request whose publication fails is a definite error and changes nothing") {
    for (const AdminCase& c : Cases()) {
      CAPTURE(c.name);
      TempDir dir;
      Daemon d(dir.Sub("data"));
      // "p" was dropped once before: a failed drop keeps that drop's marker.
      SetUpPool(d, "HEAPA_FAILPOINTS=admin.before_publish=error", /*dropped_before=*/true);
      auto client = ConnectTo(d, /*client_id=*/97);
      const Status s = c.op(*client);
      INFO(s.ToString());
      CHECK(s.code() == Status::Code::kIOError);
      CHECK(std::filesystem::exists(dir.Sub("data/pools/.dropped-p/DROPPED-BY")));
      CHECK_FALSE(std::filesystem::exists(dir.Sub("data/pools/.trash-p")));
      Unchanged(*client);
    }
  }

  TEST_CASE("a LIVE switch failing before its rename is a definite error, the old served on") {
    // Restore closes the pool's store before it switches; when the switch fails before its
    // rename, the generation LIVE still names is opened again and serves as before. A create
    // or fork failing there leaves no pool. The resend (same id) then does it.
    for (const AdminCase& c : Cases()) {
      if (!c.switches_live) continue;
      CAPTURE(c.name);
      TempDir dir;
      Daemon d(dir.Sub("data"));
      SetUpPool(d, "HEAPA_FAILPOINTS=live.before_rename=error");
      auto client = ConnectTo(d, /*client_id=*/96);
      const Status s = c.op(*client);
      INFO(s.ToString());
      CHECK(s.code() == Status::Code::kIOError);
      CHECK(s.message().find("failpoint live.before_rename") != std::string::npos);
      auto other = ConnectTo(d);
      CHECK(*other->ListPools() == std::vector<std::string>{"p"});
      // Not published on disk either (the listing shows open pools only).
      const std::string made =
          c.made != nullptr ? dir.Sub(std::string("data/pools/") + c.made) : "";
      if (c.made != nullptr) CHECK_FALSE(std::filesystem::exists(made));
      CHECK(Tags(*other, "p") == std::vector<std::string>{"t"});
      CHECK(other->Stats("p")->pooled == 3);
      if (c.made == nullptr) {  // a restore: the old generation, reopened, takes writes again
        HEAPA_REQUIRE_OK(other->Insert("p", std::vector<NewQuery>{MakeQuery(4)}).status());
        CHECK(other->Stats("p")->pooled == 4);
      }
      const Status resent = c.op(*ConnectTo(d, /*client_id=*/96));
      INFO(resent.ToString());
      CHECK(resent.ok());
      c.check(*client);
      if (c.made != nullptr) CHECK(std::filesystem::exists(made));  // now published
    }
  }

  TEST_CASE("a drop resent while the original still runs waits for it and is answered OK") {
    // The drop pauses after it took the pool out of service, before its rename: the pool is
    // gone from the list but not yet dropped. The resend must not be answered NOT_FOUND.
    TempDir dir;
    Daemon d(dir.Sub("data"), {}, {"HEAPA_FAILPOINTS=admin.before_publish=pause1000@2"});
    HEAPA_REQUIRE_OK(ConnectTo(d)->CreatePool("p", PoolConfig{}));  // its first hit
    auto original = ConnectTo(d, /*client_id=*/61);
    auto dropping = std::async(std::launch::async, [&] { return original->DropPool("p"); });
    auto other = ConnectTo(d);
    for (int i = 0; i < 500 && !other->ListPools()->empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE(other->ListPools()->empty());  // the original runs (paused)
    const Status resent = ConnectTo(d, /*client_id=*/61)->DropPool("p");  // the same id
    INFO(resent.ToString());
    CHECK(resent.ok());
    const Status first = dropping.get();
    INFO(first.ToString());
    CHECK(first.ok());
    CHECK(other->Stats("p").status().code() == Status::Code::kNotFound);
  }

  TEST_CASE("an admin request resent while its original holds the only admin slot is retried") {
    // The checkpoint pauses 1.3 s before its rename; the client gives up waiting after 1 s
    // and resends on a new connection. With one admin slot, held by the original, the resend
    // is refused RESOURCE_EXHAUSTED: the client asks again (not an answer about its request)
    // until the original is done, and is then answered OK by its marker.
    TempDir dir;
    Daemon d(dir.Sub("data"), {"--max-admin-requests", "1", "--metrics", "127.0.0.1:0"},
             {"HEAPA_FAILPOINTS=admin.before_publish=pause1300@2"});
    HEAPA_REQUIRE_OK(ConnectTo(d)->CreatePool("p", PoolConfig{}));  // its first hit
    auto client = ImpatientClient(d, /*client_id=*/63, /*timeout_ms=*/1000);
    const Status s = client->Checkpoint("p", "u");
    INFO(s.ToString());
    CHECK(s.ok());
    CHECK(Tags(*client, "p") == std::vector<std::string>{"u"});
    // The resend was refused at least once (else this test saw no retry): the refusals are
    // the only checkpoints counted as errors.
    CHECK(testing::ScrapeValue(d.metrics_port(),
                               R"(heapa_requests_total{verb="Checkpoint",result="error"})") >= 1);
  }

  TEST_CASE("a failpoint armed with an error it cannot return, or a bad action, is refused") {
    TempDir dir;
    {
      Daemon d(dir.Sub("data"));
      auto client = ConnectTo(d);
      HEAPA_REQUIRE_OK(client->CreatePool("p", PoolConfig{}));
      REQUIRE(client->Insert("p", std::vector<NewQuery>{MakeQuery(1)}).ok());
      REQUIRE(d.Stop() == 0);
    }
    for (const char* spec : {"rebuild.scan=error", "rebuild.scan=pause", "rebuild.scan=stop"}) {
      CAPTURE(spec);
      const int status =
          Daemon::RunToExit(dir.Sub("data"), {std::string("HEAPA_FAILPOINTS=") + spec});
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == storage::kFailpointBadSpec));
    }
  }

  TEST_CASE("pipelined inserts sent and never answered are UnknownOutcome") {
    TempDir dir;
    Daemon d(dir.Sub("data"));
    HEAPA_REQUIRE_OK(ConnectTo(d)->CreatePool("p", PoolConfig{}));
    REQUIRE(d.Stop() == 0);
    d.set_env({"HEAPA_FAILPOINTS=commit.after_write"});  // dies with the first group durable
    d.Restart();
    auto client = ConnectTo(d, /*client_id=*/79, "", /*max_attempts=*/2);
    std::vector<std::vector<NewQuery>> batches;
    for (int i = 0; i < 8; ++i) batches.push_back({MakeQuery(i)});
    const auto r = client->InsertMany("p", batches);
    CHECK(r.status().code() == Status::Code::kUnknownOutcome);
    const int status = d.Wait();
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == storage::kFailpointExitCode));
  }

  TEST_CASE("pipelined requests never answered are UnknownOutcome that names an earlier refusal") {
    // The first insert is refused at once (an empty prompt, nothing written); the second one's
    // write pauses 3 s, longer than the client waits twice, so it stays unanswered.
    TempDir dir;
    Daemon d(dir.Sub("data"));
    HEAPA_REQUIRE_OK(ConnectTo(d)->CreatePool("p", PoolConfig{}));
    REQUIRE(d.Stop() == 0);
    d.set_env({"HEAPA_FAILPOINTS=commit.before_write=pause3000"});
    d.Restart();
    auto client = ImpatientClient(d, /*client_id=*/83, /*timeout_ms=*/400);
    NewQuery empty = MakeQuery(1);
    empty.prompt.clear();
    const std::vector<std::vector<NewQuery>> batches = {{empty}, {MakeQuery(2)}, {MakeQuery(3)}};
    const auto r = client->InsertMany("p", batches);
    INFO(r.status().ToString());
    CHECK(r.status().code() == Status::Code::kUnknownOutcome);
    const std::string message(r.status().message());
    CHECK(message.find("no answer to request 2 of 3") != std::string::npos);
    CHECK(message.find("request 1 was answered; request 1 was refused: InvalidArgument") !=
          std::string::npos);
  }

  TEST_CASE("an admin request sent and never answered is UnknownOutcome, and its resend OK") {
    TempDir dir;
    Daemon d(dir.Sub("data"), {}, {"HEAPA_FAILPOINTS=admin.after_publish"});
    auto client = ConnectTo(d, /*client_id=*/78, "", /*max_attempts=*/2);
    const Status s = client->CreatePool("n", PoolConfig{});  // admin request 2^63 + 1
    CHECK(s.code() == Status::Code::kUnknownOutcome);
    const int status = d.Wait();
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == storage::kFailpointExitCode));
    d.set_env({});
    d.Restart();
    auto again = ConnectTo(d, /*client_id=*/78);
    HEAPA_REQUIRE_OK(again->CreatePool("n", PoolConfig{}));  // the same id again: done
    CHECK(*again->ListPools() == std::vector<std::string>{"n"});
  }
}

}  // namespace heapa
