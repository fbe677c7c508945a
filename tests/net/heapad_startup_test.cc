// heapad's start-up and command line, against the real binary: a corrupt pool, bad flag
// values, and the read-ahead flags with their counters in Stats.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "net/client.h"
#include "tests/testutil/daemon.h"
#include "tests/testutil/raw_conn.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using testing::ConnectTo;
using testing::Daemon;
using testing::MakeQuery;
using testing::TempDir;

// Runs heapad with `args` until it exits by itself; its exit code (-1 if it did not exit).
int RunHeapad(const std::vector<std::string>& args) {
  std::vector<char*> argv = {const_cast<char*>(HEAPA_HEAPAD_PATH)};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::execv(HEAPA_HEAPAD_PATH, argv.data());
    ::_exit(127);
  }
  // One that does not exit (it accepted a bad flag) is killed after a minute.
  int status = 0;
  for (int waited_ms = 0; ::waitpid(pid, &status, WNOHANG) == 0; waited_ms += 10) {
    if (waited_ms >= 60'000) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_SUITE("net/heapad") {
  TEST_CASE("heapad refuses to start on a corrupt pool with exit code 3") {
    TempDir dir;
    {
      Daemon d(dir.Sub("data"));
      auto c = ConnectTo(d);
      HEAPA_REQUIRE_OK(c->CreatePool("p", PoolConfig{}));
      REQUIRE(c->Insert("p", std::vector<NewQuery>{MakeQuery(1)}).ok());
      CHECK(d.Stop() == 0);
    }
    std::ofstream(dir.Sub("data/pools/p/LIVE"), std::ios::trunc) << "db-999999\n";
    CHECK(RunHeapad({"--data-dir", dir.Sub("data"), "--listen", "127.0.0.1:0"}) == 3);
  }

  TEST_CASE("--require-pool: no start on a data directory without the pool (exit code 4)") {
    TempDir dir;
    // A path with nothing there (an unmounted volume): refused, and nothing created in it.
    CHECK(RunHeapad({"--data-dir", dir.Sub("absent"), "--listen", "127.0.0.1:0", "--require-pool",
                     "p"}) == 4);
    CHECK(!std::filesystem::exists(dir.Sub("absent")));
    for (const char* bad : {"", ".", "..", "a/b"}) {  // not a pool name: a usage error
      CAPTURE(bad);
      CHECK(RunHeapad({"--data-dir", dir.Sub("absent"), "--listen", "127.0.0.1:0", "--require-pool",
                       bad}) == 1);
    }
    {
      Daemon d(dir.Sub("data"));
      auto c = ConnectTo(d);
      HEAPA_REQUIRE_OK(c->CreatePool("p", PoolConfig{}));
      CHECK(d.Stop() == 0);
    }
    CHECK(RunHeapad({"--data-dir", dir.Sub("data"), "--listen", "127.0.0.1:0", "--require-pool",
                     "p", "--require-pool", "q"}) == 4);
    Daemon d(dir.Sub("data"), {"--require-pool", "p"});  // there: it serves
    auto c = ConnectTo(d);
    CHECK(c->Stats("p").ok());
  }

  TEST_CASE("bad flag values are usage errors (exit code 1)") {
    TempDir dir;
    for (const char* bad : {"-1", "x"}) {
      CAPTURE(bad);
      CHECK(RunHeapad({"--data-dir", dir.Sub("data"), "--listen", "127.0.0.1:0",
                       "--resume-interval-ms", bad}) == 1);
    }
    // Unsigned flags: CLI11 alone would take -3 as a huge number.
    for (const char* flag : {"--max-batch", "--max-connections"}) {
      CAPTURE(flag);
      CHECK(RunHeapad({"--data-dir", dir.Sub("data"), "--listen", "127.0.0.1:0", flag, "-3"}) == 1);
    }
    CHECK(RunHeapad({"--listen", "127.0.0.1:0", "--workers", "-1"}) == 1);
    CHECK(RunHeapad({"--listen", "127.0.0.1:0", "--workers", "1025"}) == 1);
    CHECK(RunHeapad({"--listen", "127.0.0.1:0", "--max-admin-requests", "0"}) == 1);
    // 0 would leave connections unread for good, or refuse everything.
    for (const char* flag :
         {"--max-pending-requests", "--max-pipelined-writes", "--max-output-bytes",
          "--max-frame-bytes", "--max-connections", "--max-batch", "--idle-timeout-ms",
          "--frame-timeout-ms", "--write-buffer-mb", "--shutdown-timeout-ms"}) {
      CAPTURE(flag);
      CHECK(RunHeapad({"--data-dir", dir.Sub("data"), "--listen", "127.0.0.1:0", flag, "0"}) == 1);
    }
    // A timeout too large for the clocks (it would fire at once).
    CHECK(RunHeapad({"--data-dir", dir.Sub("data"), "--listen", "127.0.0.1:0",
                     "--shutdown-timeout-ms", "9300000000000000"}) == 1);
    CHECK(RunHeapad({"--no-such-flag"}) == 1);
    CHECK(RunHeapad({"--help"}) == 0);
    // The statistics read-ahead's flags, gone with it (session 20): unknown.
    CHECK(RunHeapad({"--data-dir", dir.Sub("data"), "--prefetch-stats-min", "2"}) == 1);
  }

  TEST_CASE("Stats reports the memory of the statistics held in memory") {
    TempDir dir;
    Daemon d(dir.Sub("data"));
    auto c = ConnectTo(d);
    HEAPA_REQUIRE_OK(c->CreatePool("p", PoolConfig{}));
    REQUIRE(c->Insert("p", std::vector<NewQuery>{MakeQuery(1), MakeQuery(2), MakeQuery(3)}).ok());
    const uint64_t before = c->Stats("p")->stats_bytes;
    SampleRequest req;
    req.count = 3;
    auto s = c->Sample("p", req);
    REQUIRE(s.ok());
    REQUIRE(s->size() == 3);
    std::vector<ReportItem> items;
    for (const SampledQuery& q : *s) items.push_back({q.id, q.lease, {1.0, 0.0}, 1});
    REQUIRE(c->Report("p", items).ok());
    auto st = c->Stats("p");
    REQUIRE(st.ok());
    CHECK(st->stats_bytes >= before + 3 * 40);  // three records of about 70 bytes
    CHECK(d.Stop() == 0);
  }
}

}  // namespace heapa
