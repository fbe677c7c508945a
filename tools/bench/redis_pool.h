// The Redis baseline of heapa_bench: what a user would build on Redis instead of heapa. The
// same HeaPA pool semantics (median boundary, cold first, 2k boundary candidates, archive and
// controlled reinsertion, leases, Welford statistics, children with the §5.2 estimate, ChildAgg
// refresh) on sorted sets, lists, sets and hashes, one Lua script per operation for atomicity
// (redis_scripts.h has the data model). The server is a redis-server started by the bench on
// 127.0.0.1 (a free port, a temp dir, appendonly yes, appendfsync always or everysec, no RDB
// snapshots) and stopped at the end.
//
// Thread safety: a RedisPool is one connection, used by one thread; RedisServer is used by
// the bench's main thread.
#ifndef HEAPA_TOOLS_BENCH_REDIS_POOL_H_
#define HEAPA_TOOLS_BENCH_REDIS_POOL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "index/types.h"
#include "storage/result.h"
#include "storage/status.h"
#include "tools/bench/process.h"

struct redisContext;

namespace heapa::bench {

// One connection to the baseline pool; loads the scripts on connect.
class RedisPool {
 public:
  // Unavailable when nothing answers; FailedPrecondition while Redis loads its AOF.
  static Result<std::unique_ptr<RedisPool>> Connect(uint16_t port, uint64_t seed);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  Result<std::vector<InsertResult>> Insert(std::span<const NewQuery> queries);
  // One insert script call per element, pipelined on the connection (as ReportMany).
  Status InsertMany(std::span<const std::vector<NewQuery>> batches);
  Result<std::vector<SampledQuery>> Sample(uint32_t count, int64_t lease_ms, bool with_content);
  Result<std::vector<ReportOutcome>> Report(std::span<const ReportItem> items);
  // One report script call per element, pipelined on the connection (Redis with appendfsync
  // always then fsyncs them together, as heapad's group commit does).
  Status ReportMany(std::span<const std::vector<ReportItem>> reports);
  // Uses the first parent only (the reference's children have one).
  Result<std::vector<InsertResult>> InsertChildren(std::span<const NewChild> children);
  Result<std::vector<std::pair<QueryId, double>>> RefreshDryRun();
  // A plain command (PING, SHUTDOWN, INFO, ...): the reply as a string.
  Result<std::string> Command(const std::vector<std::string>& args);

 private:
  RedisPool(redisContext* c, uint64_t seed);
  // EVALSHA of script `which` with `args`; the reply is left in *reply (freed by the caller).
  Result<void*> Eval(int which, const std::vector<std::string>& args);
  // Sends that EVALSHA without reading its reply (redisGetReply reads it).
  Status AppendEval(int which, const std::vector<std::string>& args);
  // Sends one EVALSHA of script `which` per element of `calls`, then reads every reply: the
  // first error, else OK.
  Status EvalMany(int which, const std::vector<std::vector<std::string>>& calls);
  // The insert and report scripts' arguments.
  static Result<std::vector<std::string>> InsertArgs(std::span<const NewQuery> queries);
  static std::vector<std::string> ReportArgs(std::span<const ReportItem> items);

  redisContext* c_;
  std::vector<std::string> shas_;
  uint64_t rng_;  // seeds of the sample script's math.random, one per call
};

// A redis-server process for one baseline run.
class RedisServer {
 public:
  RedisServer(std::string binary, std::string dir, std::string appendfsync);
  ~RedisServer();
  // Starts it and waits until it answers PING.
  Status Start();
  // SHUTDOWN (the AOF is fsynced), start again, and the milliseconds until it answers PING
  // (not LOADING): the AOF replay.
  Result<double> Restart();
  void Stop();
  uint16_t port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  std::string version() const { return version_; }
  const std::string& appendfsync() const { return appendfsync_; }

 private:
  Status Launch();
  Status WaitReady(int64_t timeout_ms);

  const std::string binary_, dir_, appendfsync_;
  uint16_t port_ = 0;
  std::string version_;
  ChildProcess process_;
};

}  // namespace heapa::bench

#endif  // HEAPA_TOOLS_BENCH_REDIS_POOL_H_
