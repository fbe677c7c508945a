// Crash recovery: a child process drives a pool and is SIGKILLed at a random moment; after
// reopen every acknowledged insert and report is present, none is applied twice, and the
// durable sequence number never goes backwards. HEAPA_CRASH_ITERATIONS sets the number of
// kills (default 6); the seed is printed and replayable with HEAPA_TEST_SEED.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>

#include "index/pool.h"
#include "tests/testutil/crash_child.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

struct ChildRun {
  std::vector<std::string> lines;
  int status = 0;
};

// Starts the child, reads its lines for `run_ms`, SIGKILLs it and collects what it printed.
// `until_acked`: the kill also waits (up to 30 s more) for the child's first acknowledged
// insert or report.
ChildRun RunAndKill(const std::string& dir, uint64_t seed, const std::string& tag, int run_ms,
                    bool until_acked) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string seed_arg = std::to_string(seed);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    const char* args[] = {"/proc/self/exe", testing::kCrashChildFlag,
                          dir.c_str(),      seed_arg.c_str(),
                          tag.c_str(),      nullptr};
    ::execv("/proc/self/exe", const_cast<char* const*>(args));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string buffer;
  char chunk[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
  const auto give_up = deadline + std::chrono::seconds(30);
  auto acked = [&buffer] {  // a whole "I ..." or "R ..." line has arrived
    const std::string_view whole(buffer.data(), buffer.rfind('\n') + 1);  // npos + 1 == 0
    for (const char* line : {"I ", "R "}) {
      if (whole.starts_with(line) || whole.find(std::string("\n") + line) != whole.npos)
        return true;
    }
    return false;
  };
  bool killed = false;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (!killed && now >= deadline && (!until_acked || now >= give_up || acked())) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int wait_ms =
        killed ? 1000
        : now >= deadline
            ? 10  // waiting for an acknowledgement
            : static_cast<int>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) +
                  1;
    if (::poll(&p, 1, wait_ms) < 0) continue;
    if (p.revents == 0) continue;
    const ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
    if (n <= 0) break;  // EOF: the child is gone and the pipe drained
    buffer.append(chunk, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  ChildRun run;
  REQUIRE(::waitpid(pid, &run.status, 0) == pid);
  std::istringstream in(buffer);
  std::string line;
  while (std::getline(in, line)) run.lines.push_back(line);  // a torn last line has no '\n'...
  if (!buffer.empty() && buffer.back() != '\n' && !run.lines.empty()) run.lines.pop_back();
  return run;
}

}  // namespace

TEST_SUITE("index/pool_crash") {
  TEST_CASE("every acknowledged operation survives SIGKILL, exactly once") {
    const uint64_t seed = testing::TestSeed("pool crash");
    std::mt19937_64 rng(seed);
    const char* env = std::getenv("HEAPA_CRASH_ITERATIONS");
    const int iterations = env ? std::atoi(env) : 6;
    testing::TempDir dir;
    const std::string path = dir.Sub("pool");

    std::map<QueryId, std::string> inserted;  // acknowledged inserts
    std::map<QueryId, uint64_t> reports;      // acknowledged reports per id
    std::map<QueryId, uint64_t> last_lease;   // highest acknowledged report lease per id
    uint64_t durable = 0;
    uint64_t acked_ops = 0;
    for (int it = 0; it < iterations; ++it) {
      const int run_ms = 50 + static_cast<int>(rng() % 400);
      // If no child has acknowledged anything yet, the last one runs until it does: under ASan
      // on a loaded machine a child once spent all of its 50-450 ms starting, six times running.
      const bool until_acked = it == iterations - 1 && acked_ops == 0;
      ChildRun run = RunAndKill(path, rng(), "it" + std::to_string(it), run_ms, until_acked);
      INFO("iteration " << it << " ran " << run_ms << " ms, " << run.lines.size() << " lines");
      // Killed, or finished its bounded run; any other exit is a failure of the child.
      const bool ok_exit =
          WIFSIGNALED(run.status) || (WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
      REQUIRE(ok_exit);
      std::map<QueryId, uint64_t> in_flight_report;  // the op a kill may have interrupted
      std::string last_x;
      for (const std::string& line : run.lines) {
        std::istringstream ls(line);
        std::string kind;
        ls >> kind;
        if (kind == "I") {
          QueryId id;
          std::string prompt;
          ls >> id >> prompt;
          REQUIRE(inserted.emplace(id, prompt).second);
          ++acked_ops;
        } else if (kind == "R") {
          QueryId id;
          uint64_t lease;
          ls >> id >> lease;
          ++reports[id];
          last_lease[id] = std::max(last_lease[id], lease);
          ++acked_ops;
        } else if (kind == "D") {
          uint64_t d;
          ls >> d;
          REQUIRE(d >= durable);
          durable = d;
        } else if (kind == "X") {
          ls >> last_x;
        }
      }

      PoolOptions options;
      auto reopened = Pool::Open(path, options);
      if (reopened.status().code() == Status::Code::kNotFound && inserted.empty() && durable == 0) {
        continue;  // killed while creating the pool: nothing was acknowledged, no pool exists
      }
      INFO(reopened.status().ToString());
      REQUIRE(reopened.ok());
      Pool& pool = **reopened;
      const PoolStats st = pool.Stats();
      CHECK(st.counters.durable_seq >= durable);
      CHECK(st.pooled <= st.max_size);
      if (st.low_max && st.high_min) CHECK(*st.low_max <= *st.high_min);
      for (const auto& [id, prompt] : inserted) {
        auto info = pool.Get(id);
        REQUIRE(info.ok());
        // The child pads prompts; the acknowledged line carries the whole prompt.
        CHECK(info->query.prompt == prompt);
      }
      for (const auto& [id, n] : reports) {
        auto info = pool.Get(id);
        REQUIRE(info.ok());
        // An interrupted report may have been applied without its acknowledgement: at most
        // one more report than acknowledged, never fewer.
        CHECK(info->stats.reports >= n);
        CHECK(info->stats.reports <= n + (last_x == "report" ? 1 : 0));
        CHECK(info->stats.last_report_lease >= last_lease[id]);
      }
      // Later iterations count from what the pool now holds, including an interrupted report
      // that was applied without its acknowledgement.
      for (const auto& [id, prompt] : inserted) {
        const uint64_t applied = pool.Get(id)->stats.reports;
        if (applied > 0) reports[id] = applied;
      }
      HEAPA_REQUIRE_OK(pool.Close());
    }
    MESSAGE("kills survived: " << iterations
                               << ", acknowledged operations verified: " << acked_ops);
    CHECK(acked_ops > 0);
  }
}

}  // namespace heapa
