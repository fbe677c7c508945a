// What heapa_bench measures: a pool behind some server (a Target), used through sessions.
//
//   inproc          heapa::Pool in this process (index/pool.h)
//   heapad          heapad over loopback, through net::Client (started by the bench, or --port)
//   redis-always    the Redis baseline (redis_pool.h) under appendfsync always
//   redis-everysec  the same under appendfsync everysec
//
// Every target implements the same HeaPA pool operations the workloads need. A Target owns the
// server (and its process); a Session is one client connection, used by one thread. Sessions
// must be dropped before Reopen and made again after it.
#ifndef HEAPA_TOOLS_BENCH_TARGET_H_
#define HEAPA_TOOLS_BENCH_TARGET_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "index/types.h"
#include "storage/result.h"
#include "storage/status.h"

namespace heapa::bench {

class Session {
 public:
  virtual ~Session() = default;
  virtual Status Insert(std::span<const NewQuery> queries) = 0;
  // One Insert per element, pipelined: each batch applies while the ones before it are
  // written. Returns once all are durable; ids follow the order of the batches.
  virtual Status InsertMany(std::span<const std::vector<NewQuery>> batches) = 0;
  // Leases up to `count` queries (default lease), with their texts when with_content.
  virtual Result<std::vector<SampledQuery>> Sample(uint32_t count, bool with_content) = 0;
  virtual Result<std::vector<ReportOutcome>> Report(std::span<const ReportItem> items) = 0;
  // One Report per element, pipelined: sent back to back, durable together, then answered.
  virtual Status ReportMany(std::span<const std::vector<ReportItem>> reports) = 0;
  // Validated children (admitted by their estimated reward).
  virtual Status InsertChildren(std::span<const NewChild> children) = 0;
  // ChildAgg refresh, dry run: the values it would give; returns how many nodes.
  virtual Result<size_t> RefreshDryRun() = 0;
  // The pool's statistics (heapa targets: group-commit counters); nullopt for Redis.
  virtual std::optional<PoolStats> Stats() = 0;
  // The pool's set sizes, "cold C low L high H in_flight F archived A", to check that every
  // target ends in the same shape.
  virtual Result<std::string> Counts() = 0;
};

struct TargetOptions {
  std::string work_dir;  // an empty directory the target may use
  uint64_t pool_size = 0;
  uint64_t seed = 0;
  bool sync = true;  // heapa targets: fdatasync every write
  // inproc: the pool's directory, kept after the run ("": a subdirectory of work_dir).
  std::string pool_dir;
  // heapad: the daemon binary to start, or host/port of a running one (port != 0).
  std::string heapad_path;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // redis: the server binary and its appendfsync policy.
  std::string redis_server = "redis-server";
  std::string appendfsync = "always";
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string name() const = 0;
  // Creates the (empty) pool; starts the server first if the target has one.
  virtual Status Start() = 0;
  virtual Result<std::unique_ptr<Session>> Connect() = 0;
  // Closes the pool (stops the server) and opens it again; returns the milliseconds until it
  // serves again. Unimplemented-like FailedPrecondition when the target does not own its server.
  virtual Result<double> Reopen() = 0;
  // VmRSS of the process holding the pool, in KiB (this process for inproc); 0 when unknown.
  virtual uint64_t ResidentKib() = 0;
  // What the target is, for the header line (server version, fsync policy).
  virtual std::string Describe() const = 0;
  // Drops the pool and stops the server.
  virtual void Stop() = 0;
};

std::unique_ptr<Target> NewInProcTarget(const TargetOptions& options);
std::unique_ptr<Target> NewHeapadTarget(const TargetOptions& options);
// nullptr when this build has no hiredis.
std::unique_ptr<Target> NewRedisTarget(const TargetOptions& options);

}  // namespace heapa::bench

#endif  // HEAPA_TOOLS_BENCH_TARGET_H_
