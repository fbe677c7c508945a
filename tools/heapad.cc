// heapad: the heapa daemon. Wiring only: flags -> PoolRegistry (opens every pool, strictly)
// -> Service -> Server; SIGINT/SIGTERM drain and close cleanly.
//
// Exit codes: 0 clean shutdown; 1 usage or unexpected error; 2 cannot listen; 3 a pool's store
// is corrupt or unreadable (never repaired automatically, never replaced by an empty pool).
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "net/metrics.h"
#include "net/metrics_http.h"
#include "net/pool_registry.h"
#include "net/server.h"
#include "net/service.h"
#include "storage/failpoint.h"
#include "tools/allocator.h"
#include "tools/flag_checks.h"

namespace heapa {
namespace {

constexpr int kExitUsage = 1;
constexpr int kExitListen = 2;
constexpr int kExitCorrupt = 3;
constexpr int kExitMissingPool = 4;

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Splits "host:port" (or "[v6]:port").
bool ParseListen(const std::string& listen, std::string* host, uint16_t* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  try {
    const unsigned long p = std::stoul(listen.substr(colon + 1));
    if (p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return !host->empty();
}

int Main(int argc, char** argv) {
  CLI::App app{"heapad: the heapa prompt-pool daemon"};
  std::string data_dir = "./heapa-data";
  std::string listen = "127.0.0.1:7411";
  std::string token_file;
  bool no_sync = false;
  net::ServerOptions so;
  PoolOptions po;
  size_t write_buffer_mb = po.write_buffer_bytes >> 20;
  std::vector<std::string> required_pools;
  net::ServiceOptions service_options;
  app.add_option("--data-dir", data_dir, "directory of the pools (created if missing)");
  app.add_option("--require-pool", required_pools,
                 "refuse to start (exit code 4) unless this pool is in --data-dir: a wrong or "
                 "unmounted path is not served as an empty one (repeatable)");
  app.add_option("--listen", listen, "HOST:PORT to listen on; port 0 picks a free one");
  app.add_option("--auth-token-file", token_file,
                 "file holding the shared secret clients must send (required off loopback)");
  app.add_option("--max-frame-bytes", so.max_frame_bytes, "largest request frame")
      ->check(AtLeast(1));
  app.add_option("--max-connections", so.max_connections, "open connections")->check(AtLeast(1));
  app.add_option("--idle-timeout-ms", so.idle_timeout_ms, "close a connection idle this long")
      ->check(Milliseconds(1));
  app.add_option("--frame-timeout-ms", so.frame_timeout_ms, "time to receive a started frame")
      ->check(Milliseconds(1));
  app.add_option("--shutdown-timeout-ms", so.shutdown_timeout_ms,
                 "on SIGTERM/SIGINT, how long connections may take to answer the requests already "
                 "read; then they are closed (requests begun still finish, durably; the others "
                 "are dropped unanswered)")
      ->capture_default_str()
      ->check(Milliseconds(1));
  app.add_option("--max-pending-requests", so.max_pending_requests,
                 "requests read ahead per connection")
      ->check(AtLeast(1));
  app.add_option("--max-pipelined-writes", so.max_pipelined_writes,
                 "mutations per connection applied and awaiting their fsync at once")
      ->capture_default_str()
      ->check(AtLeast(1));
  app.add_option("--max-output-bytes", so.max_output_bytes, "unsent responses per connection")
      ->check(AtLeast(1));
  app.add_option("--workers", so.worker_threads,
                 "threads executing requests (0: one per core, at least 2 and at most 16)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  app.add_option("--max-batch", po.max_batch, "queries per insert, sample or report")
      ->check(AtLeast(1));
  app.add_option("--resume-interval-ms", po.resume_interval_ms,
                 "after a failed write, how often a mutation may try to resume the store")
      ->check(Milliseconds(0));
  app.add_option("--write-buffer-mb", write_buffer_mb,
                 "memtable budget of each pool, in MiB (half for the texts, half for the rest)")
      ->capture_default_str()
      ->check(CLI::Range(2, 1 << 16));
  app.add_option("--max-admin-requests", service_options.max_admin_requests,
                 "whole-pool requests (digest, verify, refresh, checkpoint, restore, fork, drop) "
                 "running at once; more are refused")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_flag("--no-sync", no_sync, "do not fdatasync writes (benchmarks only: unsafe)");
  std::string metrics_listen;
  app.add_option("--metrics", metrics_listen,
                 "serve Prometheus metrics over HTTP at HOST:PORT (GET /metrics)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; a bad flag or value is a usage error, like the checks below.
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  if (!ParseListen(listen, &so.host, &so.port)) {
    std::cerr << "heapad: --listen wants HOST:PORT, got '" << listen << "'\n";
    return kExitUsage;
  }
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::stringstream ss;
    ss << in.rdbuf();
    service_options.auth_token = ss.str();
    while (!service_options.auth_token.empty() &&
           std::isspace(static_cast<unsigned char>(service_options.auth_token.back()))) {
      service_options.auth_token.pop_back();
    }
    if (!in || service_options.auth_token.empty()) {
      std::cerr << "heapad: cannot read a token from " << token_file << "\n";
      return kExitUsage;
    }
  } else if (!IsLoopback(so.host)) {
    std::cerr << "heapad: listening on " << so.host << " needs --auth-token-file\n";
    return kExitUsage;
  }
  // Connections are file descriptors: allow as many as the hard limit lets us.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  // When glibc's malloc serves (a build without jemalloc, tools/allocator.h), it gives each of
  // the many worker threads its own arena and keeps what large requests freed there: 541 MiB
  // instead of 331 MiB after a 1M fill (heapa-bench). A few shared arenas are plenty: the
  // workers mostly wait for fsyncs. Under jemalloc the call changes nothing.
  ::mallopt(M_ARENA_MAX, 4);
  ::signal(SIGPIPE, SIG_IGN);  // a peer that went away is an error code, not a signal
  ::signal(SIGXFSZ, SIG_IGN);  // RLIMIT_FSIZE: EFBIG instead of death

  po.sync = !no_sync;
  po.write_buffer_bytes = write_buffer_mb << 20;
  // Before anything is created under --data-dir: it may be a mount point not mounted.
  for (const std::string& name : required_pools) {
    const Status valid = net::PoolRegistry::ValidateName(name);
    if (!valid.ok()) {
      std::cerr << "heapad: --require-pool: " << valid.ToString() << "\n";
      return kExitUsage;
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(net::PoolRegistry::PoolDirIn(data_dir, name), ec)) {
      std::cerr << "heapad: no pool '" << name << "' in " << data_dir
                << " (--require-pool): a wrong or unmounted --data-dir?\n";
      return kExitMissingPool;
    }
  }
  auto registry = net::PoolRegistry::Open(data_dir, po);
  if (!registry.ok()) {
    std::cerr << "heapad: cannot open the pools in " << data_dir << ": "
              << registry.status().ToString() << "\n";
    return kExitCorrupt;
  }
  net::Metrics metrics;
  service_options.metrics = &metrics;
  std::string metrics_host;
  uint16_t metrics_port = 0;
  if (!metrics_listen.empty() && !ParseListen(metrics_listen, &metrics_host, &metrics_port)) {
    std::cerr << "heapad: --metrics wants HOST:PORT, got '" << metrics_listen << "'\n";
    return kExitUsage;
  }
  net::Service service(registry->get(), service_options);
  net::Server server(&service, so);
  net::MetricsHttp metrics_http(
      [&] { return metrics.Render(**registry, server.direct_replies()); });
  const Status started = server.Start();
  if (!started.ok()) {
    std::cerr << "heapad: " << started.ToString() << "\n";
    return kExitListen;
  }
  server.HandleSignals();
  std::cout << "heapad listening on " << so.host << ":" << server.port() << " data-dir " << data_dir
            << std::endl;
  if (!metrics_listen.empty()) {
    const Status serving = metrics_http.Start(metrics_host, metrics_port);
    if (!serving.ok()) {
      std::cerr << "heapad: " << serving.ToString() << "\n";
      return kExitListen;
    }
    std::cout << "heapad metrics on " << metrics_host << ":" << metrics_http.port() << std::endl;
  }
  // After the lines above, which tests and heapa-bench read first.
  std::cout << "heapad allocator: " << AllocatorDescription() << std::endl;
  server.Run();
  storage::Failpoint("shutdown.before_close");
  const Status closed = (*registry)->CloseAll();
  if (!closed.ok()) {
    std::cerr << "heapad: closing the pools: " << closed.ToString() << "\n";
    return kExitUsage;
  }
  std::cout << "heapad stopped" << std::endl;
  return 0;
}

}  // namespace
}  // namespace heapa

int main(int argc, char** argv) {
  try {
    return heapa::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heapad: unexpected error: %s\n", e.what());
    return 1;
  }
}
