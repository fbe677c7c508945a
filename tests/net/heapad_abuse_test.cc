// Protocol abuse against a live heapad (reliability-plan §3): slow senders, slow readers,
// abrupt resets, connection churn, random frames and file-descriptor exhaustion, while a
// canary client keeps working and measures that service continues.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <random>
#include <thread>

#include "net/frame.h"
#include "tests/testutil/daemon.h"
#include "tests/testutil/raw_conn.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using Clock = std::chrono::steady_clock;
using testing::Daemon;
using testing::Raw;

// A client inserting and reading in a loop on its own thread until Stop().
class Canary {
 public:
  Canary(const Daemon& d, const std::string& pool) : client_(testing::ConnectTo(d)), pool_(pool) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Canary() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t ops() const { return ops_; }
  uint64_t failures() const { return failures_; }
  double max_ms() const { return max_ms_; }
  std::string last_error() const { return last_error_; }

 private:
  void Loop() {
    for (int i = 0; !stop_; ++i) {
      const auto start = Clock::now();
      NewQuery q = testing::MakeQuery(i);
      q.prompt = "canary " + std::to_string(i);
      auto r = client_->Insert(pool_, std::vector<NewQuery>{q});
      const bool ok = r.ok() && client_->Get(pool_, (*r)[0].id).ok();
      if (!ok) {
        ++failures_;
        last_error_ = r.ok() ? "get failed" : r.status().ToString();
      }
      ++ops_;
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      max_ms_ = std::max(max_ms_, ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  std::unique_ptr<net::Client> client_;
  const std::string pool_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ops_{0}, failures_{0};
  double max_ms_ = 0;  // canary thread only until Stop()
  std::string last_error_;
};

size_t OpenFds(pid_t pid) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

// CPU seconds (user + system) the process has used so far.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) {
      stime = std::stod(f);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

TEST_SUITE("net/heapad_abuse") {
  TEST_CASE("slow senders, slow readers, resets, churn and random frames never stop a canary") {
    const uint64_t seed = testing::TestSeed("heapad_abuse/canary");
    std::mt19937_64 rng(seed);
    testing::TempDir dir;
    Daemon d(dir.Sub("data"), {"--frame-timeout-ms", "300", "--max-output-bytes", "65536",
                               "--max-frame-bytes", "65536"});
    HEAPA_REQUIRE_OK(testing::ConnectTo(d)->CreatePool("p", PoolConfig{}));
    const size_t fds_before = OpenFds(d.pid());
    Canary canary(d, "p");

    // Slow senders: a frame started and never finished is cut off by the frame timeout.
    std::vector<std::unique_ptr<Raw>> slow;
    for (int i = 0; i < 20; ++i) {
      slow.push_back(std::make_unique<Raw>(d.port()));
      slow.back()->Send(std::string("\x64\x00\x00\x00", 4) + "ten bytes.");
    }
    int cut_off = 0;
    for (auto& r : slow) cut_off += r->Closed() ? 1 : 0;
    CHECK(cut_off == 20);
    slow.clear();

    // Slow readers: thousands of pipelined requests whose answers are never read. The daemon
    // stops reading from them once their output passes the cap; memory stays bounded.
    std::vector<std::unique_ptr<Raw>> readers;
    for (int i = 0; i < 4; ++i) {
      readers.push_back(std::make_unique<Raw>(d.port()));
      readers.back()->SendFrame(testing::HelloBody(1));
      std::string burst;
      for (int j = 0; j < 2000; ++j) {
        std::string f;
        net::AppendFrame(testing::StatsBody("p"), &f);
        burst += f;
      }
      // Non-blocking: the daemon may stop reading long before all of it is accepted.
      ::send(readers.back()->fd(), burst.data(), burst.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }

    // Abrupt resets in the middle of a frame.
    for (int i = 0; i < 200; ++i) {
      Raw r(d.port());
      r.Send(std::string("\x40\x00\x00\x00", 4) + "half");
      r.Reset();
    }

    // Connection churn: connect and go, half of them after a Hello.
    for (int i = 0; i < 1000; ++i) {
      Raw r(d.port());
      if (i % 2) r.SendFrame(testing::HelloBody(1));
    }

    // Random frames on greeted connections: each is answered or the connection closes.
    int answered = 0, closed = 0;
    for (int conn = 0; conn < 10; ++conn) {
      Raw r(d.port());
      r.SendFrame(testing::HelloBody(1));
      REQUIRE(r.ReadCode() == net::fb::Code::OK);
      for (int i = 0; i < 50; ++i) {
        std::string body(rng() % 512, '\0');
        for (char& c : body) c = static_cast<char>(rng());
        r.SendFrame(body);
        if (r.ReadCode()) {
          ++answered;
        } else {
          ++closed;
          break;
        }
      }
    }
    CHECK(answered + closed >= 10);
    readers.clear();

    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    canary.Stop();
    INFO(canary.last_error());
    CHECK(canary.failures() == 0);
    CHECK(canary.ops() > 0);
    // Every abusive connection is gone again.
    size_t fds_after = OpenFds(d.pid());
    for (int i = 0; i < 50 && fds_after > fds_before + 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      fds_after = OpenFds(d.pid());
    }
    CHECK(fds_after <= fds_before + 2);  // the canary's own connection, and slack
    MESSAGE("abuse: 20 slow senders, 4 slow readers x 2000 requests, 200 resets, 1000 churned "
            "connections, " << answered << " random frames answered and " << closed
            << " connections closed; canary " << canary.ops() << " operations, 0 failures, "
            << "worst " << canary.max_ms() << " ms");
    CHECK(d.Stop() == 0);
  }

  TEST_CASE("file-descriptor exhaustion: no spinning, and service resumes when fds return") {
    testing::TempDir dir;
    Daemon d(dir.Sub("data"));
    HEAPA_REQUIRE_OK(testing::ConnectTo(d)->CreatePool("p", PoolConfig{}));
    REQUIRE(d.Stop() == 0);
    d.set_open_files_limit(128);
    d.Restart();
    auto canary = testing::ConnectTo(d);
    // Far more connections than descriptors: the kernel queues them, accept fails (EMFILE).
    std::vector<std::unique_ptr<Raw>> flood;
    for (int i = 0; i < 300; ++i) flood.push_back(std::make_unique<Raw>(d.port()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const double cpu_before = CpuSeconds(d.pid());
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double cpu_used = CpuSeconds(d.pid()) - cpu_before;
    CHECK(cpu_used < 0.5);  // the accept loop backs off instead of spinning
    CHECK(canary->Stats("p").ok());  // an established client is still served
    flood.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto fresh = testing::ConnectTo(d);  // and new ones get in again
    REQUIRE(fresh->Insert("p", std::vector<NewQuery>{testing::MakeQuery(1)}).ok());
    MESSAGE("fd exhaustion: 300 connections against 128 descriptors; " << cpu_used
            << " CPU s in 1 s while exhausted");
    CHECK(d.Stop() == 0);
  }
}
}  // namespace heapa
