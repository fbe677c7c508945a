#include "tools/bench/redis_pool.h"

#include <fmt/core.h>
#include <hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "storage/digest.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/redis_scripts.h"

namespace heapa::bench {
namespace {

enum Script { kInsert, kSample, kReport, kChildren, kRefresh, kScripts };

const char* ScriptBody(int which) {
  switch (which) {
    case kInsert:
      return redis_lua::kInsert;
    case kSample:
      return redis_lua::kSample;
    case kReport:
      return redis_lua::kReport;
    case kChildren:
      return redis_lua::kChildren;
    case kRefresh:
      return redis_lua::kRefresh;
  }
  return "";
}

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Num(double v) { return fmt::format("{:.17g}", v); }

// The dedup key of (prompt, answer): XXH3-128 as heapa's own dedup index uses.
std::string ContentHash(std::string_view prompt, std::string_view answer) {
  storage::DigestBuilder b;
  b.Add(prompt);
  b.Add(answer);
  return storage::HashToHex(b.Finish());
}

// The t:<id> value: "<prompt bytes>:" prompt answer.
std::string PackText(std::string_view prompt, std::string_view answer) {
  std::string s = fmt::format("{}:", prompt.size());
  s.append(prompt);
  s.append(answer);
  return s;
}
void UnpackText(std::string_view s, QueryRecord* q) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return;
  const size_t n = std::stoul(std::string(s.substr(0, colon)));
  const std::string_view rest = s.substr(colon + 1);
  q->prompt.assign(rest.substr(0, std::min(n, rest.size())));
  if (n < rest.size()) q->answer.assign(rest.substr(n));
}

std::string Str(const redisReply* r) {
  if (r == nullptr) return "";
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR) {
    return std::string(r->str, r->len);
  }
  if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
  return "";
}
int64_t Int(const redisReply* r) {
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  return std::stoll(Str(r));
}

Status ErrorOf(const redisReply* r) {
  const std::string msg = Str(r);
  if (msg.rfind("NOTFOUND", 0) == 0) return Status::NotFound(msg);
  if (msg.rfind("INVALID", 0) == 0) return Status::InvalidArgument(msg);
  if (msg.rfind("PRECONDITION", 0) == 0 || msg.rfind("LOADING", 0) == 0) {
    return Status::FailedPrecondition(msg);
  }
  return Status::Internal("redis: " + msg);
}

Result<std::vector<InsertResult>> InsertResults(const redisReply* r) {
  if (r->type != REDIS_REPLY_ARRAY) return Status::Internal("redis: insert: not an array");
  std::vector<InsertResult> out(r->elements);
  for (size_t i = 0; i < r->elements; ++i) {
    const int64_t v = Int(r->element[i]);
    out[i] = {static_cast<QueryId>(v < 0 ? -v : v), v > 0};
  }
  return out;
}

}  // namespace

// ---- RedisPool.

RedisPool::RedisPool(redisContext* c, uint64_t seed) : c_(c), rng_(seed) {}
RedisPool::~RedisPool() { redisFree(c_); }

Result<std::unique_ptr<RedisPool>> RedisPool::Connect(uint16_t port, uint64_t seed) {
  timeval tv{10, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err != 0) {
    const std::string why = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) redisFree(c);
    return Status::Unavailable(fmt::format("redis 127.0.0.1:{}: {}", port, why));
  }
  timeval op{600, 0};  // a reinsertion or an AOF rewrite may take a while
  redisSetTimeout(c, op);
  std::unique_ptr<RedisPool> pool(new RedisPool(c, seed));
  for (int s = 0; s < kScripts; ++s) {
    const std::string body = std::string(redis_lua::kPrelude) + ScriptBody(s);
    HEAPA_ASSIGN_OR_RETURN(std::string sha, pool->Command({"SCRIPT", "LOAD", body}));
    pool->shas_.push_back(std::move(sha));
  }
  return pool;
}

Result<std::string> RedisPool::Command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  Reply r(static_cast<redisReply*>(
      redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (!r) return Status::Unavailable(fmt::format("redis: {}", c_->errstr));
  if (r->type == REDIS_REPLY_ERROR) return ErrorOf(r.get());
  return Str(r.get());
}

Status RedisPool::AppendEval(int which, const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"EVALSHA", shas_[static_cast<size_t>(which)].c_str(), "0"};
  std::vector<size_t> lens = {7, shas_[static_cast<size_t>(which)].size(), 1};
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK) {
    return Status::Unavailable(fmt::format("redis: {}", c_->errstr));
  }
  return Status::OK();
}

Result<void*> RedisPool::Eval(int which, const std::vector<std::string>& args) {
  HEAPA_RETURN_IF_ERROR(AppendEval(which, args));
  void* raw = nullptr;
  if (redisGetReply(c_, &raw) != REDIS_OK) raw = nullptr;
  Reply r(static_cast<redisReply*>(raw));
  if (!r) return Status::Unavailable(fmt::format("redis: {}", c_->errstr));
  if (r->type == REDIS_REPLY_ERROR) return ErrorOf(r.get());
  return static_cast<void*>(r.release());
}

Result<std::vector<std::string>> RedisPool::InsertArgs(std::span<const NewQuery> queries) {
  std::vector<std::string> args;
  args.reserve(1 + 4 * queries.size());
  args.push_back(std::to_string(NowMs()));
  for (const NewQuery& q : queries) {
    if (q.prompt.empty()) return Status::InvalidArgument("empty prompt");
    args.push_back(ContentHash(q.prompt, q.answer));
    args.push_back(PackText(q.prompt, q.answer));
    args.push_back(q.source);
    args.push_back(q.reward ? Num(*q.reward) : "");
  }
  return args;
}

Result<std::vector<InsertResult>> RedisPool::Insert(std::span<const NewQuery> queries) {
  HEAPA_ASSIGN_OR_RETURN(const std::vector<std::string> args, InsertArgs(queries));
  HEAPA_ASSIGN_OR_RETURN(void* raw, Eval(kInsert, args));
  Reply r(static_cast<redisReply*>(raw));
  return InsertResults(r.get());
}

Status RedisPool::InsertMany(std::span<const std::vector<NewQuery>> batches) {
  std::vector<std::vector<std::string>> calls;
  calls.reserve(batches.size());
  for (const std::vector<NewQuery>& b : batches) {
    HEAPA_ASSIGN_OR_RETURN(std::vector<std::string> args, InsertArgs(b));
    calls.push_back(std::move(args));
  }
  return EvalMany(kInsert, calls);
}

Result<std::vector<SampledQuery>> RedisPool::Sample(uint32_t count, int64_t lease_ms,
                                                    bool with_content) {
  rng_ = Rand(rng_).Next();
  HEAPA_ASSIGN_OR_RETURN(
      void* raw,
      Eval(kSample, {std::to_string(count), std::to_string(NowMs()), std::to_string(lease_ms),
                     with_content ? "1" : "0", std::to_string(rng_ >> 12)}));
  Reply r(static_cast<redisReply*>(raw));
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
    return Status::Internal("redis: sample: bad reply");
  }
  const LeaseId lease = static_cast<LeaseId>(Int(r->element[0]));
  const int64_t deadline = Int(r->element[1]);
  const size_t stride = with_content ? 4 : 3;
  std::vector<SampledQuery> out;
  out.reserve((r->elements - 2) / stride);
  for (size_t i = 2; i + stride <= r->elements; i += stride) {
    SampledQuery q;
    q.id = std::stoull(Str(r->element[i]));
    q.lease = lease;
    q.lease_deadline_ms = deadline;
    const std::string from = Str(r->element[i + 1]);
    q.from = from == "C" ? QueryState::kCold : from == "L" ? QueryState::kLow : QueryState::kHigh;
    const std::string reward = Str(r->element[i + 2]);
    if (!reward.empty()) q.reward = std::stod(reward);
    if (with_content) UnpackText(Str(r->element[i + 3]), &q.query);
    out.push_back(std::move(q));
  }
  return out;
}

std::vector<std::string> RedisPool::ReportArgs(std::span<const ReportItem> items) {
  std::vector<std::string> args;
  args.push_back(std::to_string(NowMs()));
  for (const ReportItem& it : items) {
    args.push_back(std::to_string(it.id));
    args.push_back(std::to_string(it.lease));
    args.push_back(std::to_string(it.step));
    args.push_back(std::to_string(it.rewards.size()));
    for (double v : it.rewards) args.push_back(Num(v));
  }
  return args;
}

Status RedisPool::ReportMany(std::span<const std::vector<ReportItem>> reports) {
  std::vector<std::vector<std::string>> calls;
  calls.reserve(reports.size());
  for (const std::vector<ReportItem>& r : reports) calls.push_back(ReportArgs(r));
  return EvalMany(kReport, calls);
}

Status RedisPool::EvalMany(int which, const std::vector<std::vector<std::string>>& calls) {
  // Every command appended is answered: read as many replies as were sent, even when an append
  // fails half way, so that the connection stays in step with its replies.
  size_t sent = 0;
  Status first_error;
  for (const std::vector<std::string>& args : calls) {
    first_error = AppendEval(which, args);
    if (!first_error.ok()) break;
    ++sent;
  }
  for (size_t i = 0; i < sent; ++i) {
    void* raw = nullptr;
    if (redisGetReply(c_, &raw) != REDIS_OK) {
      return Status::Unavailable(fmt::format("redis: {}", c_->errstr));
    }
    Reply r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR && first_error.ok()) first_error = ErrorOf(r.get());
  }
  return first_error;
}

Result<std::vector<ReportOutcome>> RedisPool::Report(std::span<const ReportItem> items) {
  HEAPA_ASSIGN_OR_RETURN(void* raw, Eval(kReport, ReportArgs(items)));
  Reply r(static_cast<redisReply*>(raw));
  if (r->type != REDIS_REPLY_ARRAY) return Status::Internal("redis: report: bad reply");
  std::vector<ReportOutcome> out;
  for (size_t i = 0; i < r->elements; ++i) {
    out.push_back(static_cast<ReportOutcome>(Int(r->element[i])));
  }
  return out;
}

Result<std::vector<InsertResult>> RedisPool::InsertChildren(std::span<const NewChild> children) {
  std::vector<std::string> args;
  args.push_back(std::to_string(NowMs()));
  for (const NewChild& c : children) {
    if (c.parents.empty()) return Status::InvalidArgument("a child without parents");
    args.push_back(ContentHash(c.prompt, c.answer));
    args.push_back(PackText(c.prompt, c.answer));
    args.push_back(std::to_string(c.parents[0]));
    args.push_back(Num(c.policy_difficulty));
  }
  HEAPA_ASSIGN_OR_RETURN(void* raw, Eval(kChildren, args));
  Reply r(static_cast<redisReply*>(raw));
  return InsertResults(r.get());
}

Result<std::vector<std::pair<QueryId, double>>> RedisPool::RefreshDryRun() {
  HEAPA_ASSIGN_OR_RETURN(void* raw, Eval(kRefresh, {}));
  Reply r(static_cast<redisReply*>(raw));
  std::vector<std::pair<QueryId, double>> out;
  for (size_t i = 0; i + 2 <= r->elements; i += 2) {
    out.emplace_back(std::stoull(Str(r->element[i])), std::stod(Str(r->element[i + 1])));
  }
  return out;
}

// ---- RedisServer.

RedisServer::RedisServer(std::string binary, std::string dir, std::string appendfsync)
    : binary_(std::move(binary)), dir_(std::move(dir)), appendfsync_(std::move(appendfsync)) {}

RedisServer::~RedisServer() { Stop(); }

Status RedisServer::Launch() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::IOError("cannot create " + dir_);
  // No RDB snapshots: durability is the AOF alone, fsynced per appendfsync. Everything else
  // (AOF rewrite thresholds, jemalloc, one I/O thread) is Debian's default.
  return process_.Start(
      {binary_, "--bind", "127.0.0.1", "--port", std::to_string(port_), "--dir", dir_,
       "--appendonly", "yes", "--appendfsync", appendfsync_, "--save", "", "--daemonize", "no",
       "--protected-mode", "yes", "--logfile", dir_ + "/redis.log"},
      /*capture_stdout=*/false, dir_ + "/redis.stdout");
}

Status RedisServer::WaitReady(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (c != nullptr && c->err == 0) {
      Reply r(static_cast<redisReply*>(redisCommand(c, "PING")));
      const bool pong = r && r->type == REDIS_REPLY_STATUS && Str(r.get()) == "PONG";
      if (pong && version_.empty()) {
        Reply info(static_cast<redisReply*>(redisCommand(c, "INFO server")));
        const std::string s = info ? Str(info.get()) : "";
        const size_t at = s.find("redis_version:");
        if (at != std::string::npos) {
          version_ = s.substr(at + 14, s.find('\r', at) - at - 14);
        }
      }
      redisFree(c);
      if (pong) return Status::OK();
    } else if (c != nullptr) {
      redisFree(c);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return Status::Unavailable(
      fmt::format("redis-server on port {} not ready; see {}/redis.log", port_, dir_));
}

Status RedisServer::Start() {
  HEAPA_ASSIGN_OR_RETURN(port_, FreePort());
  HEAPA_RETURN_IF_ERROR(Launch());
  return WaitReady(60000);
}

Result<double> RedisServer::Restart() {
  {
    timeval tv{10, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (c == nullptr || c->err != 0) {
      if (c != nullptr) redisFree(c);
      return Status::Unavailable("redis: cannot connect to shut down");
    }
    // SHUTDOWN fsyncs the AOF and exits; the reply is the closed connection.
    Reply r(static_cast<redisReply*>(redisCommand(c, "SHUTDOWN")));
    redisFree(c);
  }
  (void)process_.Wait();
  const auto start = SteadyClock::now();
  HEAPA_RETURN_IF_ERROR(Launch());
  HEAPA_RETURN_IF_ERROR(WaitReady(600000));
  return MsSince(start);
}

void RedisServer::Stop() {
  if (process_.running()) (void)process_.Stop(SIGTERM);
}

}  // namespace heapa::bench
