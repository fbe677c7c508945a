// heapad's shutdown under load (reliability-plan R12): SIGTERM while trainers are sending.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "net/client.h"
#include "tests/testutil/daemon.h"
#include "tests/testutil/raw_conn.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using net::Client;
using testing::ConnectTo;
using testing::Daemon;
using testing::MakeQuery;
using testing::TempDir;

}  // namespace

TEST_SUITE("net/heapad") {
  TEST_CASE("SIGTERM under load: heapad exits 0 and keeps exactly the reports it answered") {
    TempDir dir;
    Daemon d(dir.Sub("data"));
    {
      auto setup = ConnectTo(d);
      HEAPA_REQUIRE_OK(setup->CreatePool("p", PoolConfig{}));
      std::vector<NewQuery> qs;
      for (int i = 1; i <= 400; ++i) qs.push_back(MakeQuery(i));
      REQUIRE(setup->Insert("p", qs).ok());
    }
    // Two trainers, one request at a time and no retries, until the daemon goes away.
    std::atomic<uint64_t> answered{0};
    // Connected here: a REQUIRE failing on a trainer's thread would abort the test binary.
    std::unique_ptr<Client> clients[] = {ConnectTo(d, 11, "", /*max_attempts=*/1),
                                         ConnectTo(d, 12, "", /*max_attempts=*/1)};
    auto trainer = [&](Client* c) {
      for (;;) {
        SampleRequest req;
        req.count = 8;
        auto sampled = c->Sample("p", req);
        if (!sampled.ok()) return;
        for (const SampledQuery& q : *sampled) {
          if (!c->Report("p", std::vector<ReportItem>{{q.id, q.lease, {1.0}, 1}}).ok()) return;
          ++answered;
        }
      }
    };
    std::thread a(trainer, clients[0].get());
    std::thread b(trainer, clients[1].get());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (answered.load() < 100 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const int status = d.Stop();  // requests are in flight: drained, answered, then the exit
    a.join();
    b.join();
    CHECK(status == 0);
    REQUIRE(answered.load() >= 100);
    d.Restart();
    auto c = ConnectTo(d);
    auto st = c->Stats("p");
    REQUIRE(st.ok());
    // Every answered report is durable, and none was applied without its answer.
    CHECK(st->counters.total_reports == answered.load());
    HEAPA_REQUIRE_OK(c->VerifyIndex("p"));
  }
}

}  // namespace heapa
