#include "tests/testutil/daemon.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

namespace heapa::testing {

namespace {

// In the child, between fork and exec.
[[noreturn]] void ExecHeapad(std::vector<std::string> args, std::vector<std::string> env) {
  for (std::string& e : env) ::putenv(e.data());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

// Waits at most `limit` for `pid` to exit; its status from waitpid. One still running then
// fails the test (`what` says what it was waiting for), is killed, and -1 is returned.
int WaitForExit(pid_t pid, std::chrono::seconds limit, const char* what) {
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL_CHECK("heapad did not exit within " << limit.count() << " s " << what);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;  // no exit status: it did not exit
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status;
}

}  // namespace

Daemon::Daemon(std::string data_dir, std::vector<std::string> extra_flags,
               std::vector<std::string> env)
    : data_dir_(std::move(data_dir)), extra_(std::move(extra_flags)), env_(std::move(env)) {
  Launch(0);
}

Daemon::~Daemon() {
  if (pid_ > 0) Kill();
}

void Daemon::Launch(uint16_t port) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::vector<std::string> args = {HEAPA_HEAPAD_PATH, "--data-dir", data_dir_, "--listen",
                                   "127.0.0.1:" + std::to_string(port)};
  args.insert(args.end(), extra_.begin(), extra_.end());
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    if (fsize_limit_ > 0) {
      rlimit limit{};
      ::getrlimit(RLIMIT_FSIZE, &limit);
      limit.rlim_cur = fsize_limit_;
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    if (nofile_limit_ > 0) {
      rlimit limit{nofile_limit_, nofile_limit_};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ExecHeapad(args, env_);
  }
  ::close(fds[1]);
  // The first line says where it listens: "heapad listening on 127.0.0.1:PORT ...".
  auto read_line = [&] {
    std::string line;
    char c;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    return line;
  };
  const std::string line = read_line();
  if (std::find(extra_.begin(), extra_.end(), "--metrics") != extra_.end()) {
    // The second line: "heapad metrics on 127.0.0.1:PORT".
    const std::string metrics = read_line();
    INFO("heapad said: " << metrics);
    const size_t colon = metrics.rfind(':');
    REQUIRE(colon != std::string::npos);
    metrics_port_ = static_cast<uint16_t>(std::stoul(metrics.substr(colon + 1)));
  }
  // Then: "heapad allocator: DESCRIPTION".
  const std::string allocator_line = read_line();
  ::close(fds[0]);
  INFO("heapad said: " << line);
  const size_t colon = line.find(':', line.find("listening on"));
  REQUIRE(colon != std::string::npos);
  port_ = static_cast<uint16_t>(std::stoul(line.substr(colon + 1)));
  REQUIRE(port_ != 0);
  const std::string allocator_prefix = "heapad allocator: ";
  INFO("heapad said: " << allocator_line);
  REQUIRE(allocator_line.starts_with(allocator_prefix));
  allocator_ = allocator_line.substr(allocator_prefix.size());
}

int Daemon::Stop() {
  int status = 0;
  if (pid_ <= 0) return status;
  ::kill(pid_, SIGTERM);
  status = WaitForExit(pid_, std::chrono::seconds(60), "of SIGTERM");
  pid_ = -1;
  return status;
}

void Daemon::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void Daemon::SetRunningFileSizeLimit(uint64_t bytes) {
  REQUIRE(pid_ > 0);
  rlimit limit{};
  REQUIRE(::prlimit(pid_, RLIMIT_FSIZE, nullptr, &limit) == 0);
  limit.rlim_cur = bytes == 0 ? limit.rlim_max : bytes;
  REQUIRE(::prlimit(pid_, RLIMIT_FSIZE, &limit, nullptr) == 0);
}

int Daemon::Wait() {
  if (pid_ <= 0) return 0;
  const int status = WaitForExit(pid_, std::chrono::seconds(120), "by itself");
  pid_ = -1;
  return status;
}

int Daemon::RunToExit(const std::string& data_dir, const std::vector<std::string>& env) {
  std::vector<std::string> args = {HEAPA_HEAPAD_PATH, "--data-dir", data_dir, "--listen",
                                   "127.0.0.1:0"};
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, STDOUT_FILENO);
    ExecHeapad(args, env);
  }
  return WaitForExit(pid, std::chrono::seconds(120), "by itself");
}

void Daemon::Restart() {
  REQUIRE(pid_ <= 0);
  // The old port may linger briefly in TIME_WAIT for the client side only; SO_REUSEADDR lets
  // the daemon bind it again at once.
  Launch(port_);
}

}  // namespace heapa::testing
