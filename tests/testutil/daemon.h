// A heapad child process for integration tests: 127.0.0.1, an ephemeral port, a temporary
// data directory; stopped (SIGTERM, then SIGKILL) and cleaned up on destruction.
#ifndef HEAPA_TESTS_TESTUTIL_DAEMON_H_
#define HEAPA_TESTS_TESTUTIL_DAEMON_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace heapa::testing {

class Daemon {
 public:
  // Starts heapad on `data_dir` with extra flags and environment entries ("NAME=value");
  // fails the test if it does not come up.
  explicit Daemon(std::string data_dir, std::vector<std::string> extra_flags = {},
                  std::vector<std::string> env = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  uint16_t port() const { return port_; }
  // With a "--metrics" flag: the port of the metrics page (0 otherwise).
  uint16_t metrics_port() const { return metrics_port_; }
  // What heapad said serves its malloc at its last start ("jemalloc 5.3.0-...": see
  // tools/allocator.h).
  const std::string& allocator() const { return allocator_; }
  // SIGTERM and wait; returns the exit status (as from waitpid). A daemon still running 60 s
  // later fails the test, is killed, and -1 is returned (heapad bounds its own drain:
  // --shutdown-timeout-ms).
  int Stop();
  // SIGKILL and wait.
  void Kill();
  // Waits for the daemon to exit by itself (a failpoint); returns the status from waitpid. One
  // still running 120 s later fails the test, is killed, and -1 is returned.
  int Wait();
  // Starts again on the same data directory and port, with `env` from now on.
  void Restart();
  void set_env(std::vector<std::string> env) { env_ = std::move(env); }
  // RLIMIT_FSIZE of the daemon: for the next start, and of the running daemon (prlimit), so
  // a test can fill the "disk" and give the space back. 0: unlimited.
  void set_file_size_limit(uint64_t bytes) { fsize_limit_ = bytes; }
  void SetRunningFileSizeLimit(uint64_t bytes);
  // RLIMIT_NOFILE (soft and hard) for the next start. 0: inherited.
  void set_open_files_limit(uint64_t n) { nofile_limit_ = n; }
  pid_t pid() const { return pid_; }

  // Runs heapad on `data_dir` with `env` until it exits by itself (it must, e.g. at a
  // failpoint during startup); returns the status from waitpid, or -1 as Wait.
  static int RunToExit(const std::string& data_dir, const std::vector<std::string>& env);

 private:
  void Launch(uint16_t port);

  std::string data_dir_;
  std::vector<std::string> extra_;
  std::vector<std::string> env_;
  pid_t pid_ = -1;
  std::string allocator_;
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
  uint64_t fsize_limit_ = 0;
  uint64_t nofile_limit_ = 0;
};

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_DAEMON_H_
