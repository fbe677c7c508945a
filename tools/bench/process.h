// Child processes of heapa_bench: the daemons it benchmarks (heapad, redis-server), started on
// 127.0.0.1 in a temp dir and stopped at the end; a free port; a process's resident memory.
//
// Thread safety: a ChildProcess is used by one thread.
#ifndef HEAPA_TOOLS_BENCH_PROCESS_H_
#define HEAPA_TOOLS_BENCH_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "storage/result.h"
#include "storage/status.h"

namespace heapa::bench {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Sends SIGTERM and waits, if still running.
  ~ChildProcess();

  // Runs argv[0] (a path, or a name looked up in PATH) with argv. Its stdout is a pipe read by
  // WaitForLine when capture_stdout, else appended to `log_path` ("" : /dev/null); stderr goes
  // to `log_path` too. IOError when fork or exec fails (exec failure: the child exits 127 and
  // WaitForLine reports it).
  Status Start(const std::vector<std::string>& argv, bool capture_stdout,
               const std::string& log_path);
  // Reads stdout lines until one starts with `prefix`; returns it. Unavailable when the
  // process exits or closes stdout first, DeadlineExceeded-like IOError after timeout_ms.
  Result<std::string> WaitForLine(const std::string& prefix, int64_t timeout_ms);
  // SIGTERM (or `signal`), then waits for the exit; returns the exit status as waitpid gives it.
  int Stop(int signal);
  // Waits for the process to exit on its own (after a shutdown command).
  int Wait();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string pending_;  // bytes read from stdout after the last returned line
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
Result<uint16_t> FreePort();

// VmRSS of process `pid` (0: this process) in KiB; 0 when unreadable.
uint64_t ResidentKib(pid_t pid);

// The directory of this executable (to find heapad next to heapa_bench).
std::string SelfDir();

}  // namespace heapa::bench

#endif  // HEAPA_TOOLS_BENCH_PROCESS_H_
