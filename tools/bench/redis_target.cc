// The Redis baseline as a heapa_bench target (see redis_pool.h).
#include <fmt/core.h>

#include "tools/bench/redis_pool.h"
#include "tools/bench/target.h"

namespace heapa::bench {
namespace {

class RedisSession final : public Session {
 public:
  explicit RedisSession(std::unique_ptr<RedisPool> p) : p_(std::move(p)) {}
  Status Insert(std::span<const NewQuery> queries) override { return p_->Insert(queries).status(); }
  Status InsertMany(std::span<const std::vector<NewQuery>> batches) override {
    return p_->InsertMany(batches);
  }
  Result<std::vector<SampledQuery>> Sample(uint32_t count, bool with_content) override {
    return p_->Sample(count, kLeaseMs, with_content);
  }
  Result<std::vector<ReportOutcome>> Report(std::span<const ReportItem> items) override {
    return p_->Report(items);
  }
  Status ReportMany(std::span<const std::vector<ReportItem>> reports) override {
    return p_->ReportMany(reports);
  }
  Status InsertChildren(std::span<const NewChild> children) override {
    return p_->InsertChildren(children).status();
  }
  Result<size_t> RefreshDryRun() override {
    HEAPA_ASSIGN_OR_RETURN(auto values, p_->RefreshDryRun());
    return values.size();
  }
  std::optional<PoolStats> Stats() override { return std::nullopt; }
  Result<std::string> Counts() override {
    HEAPA_ASSIGN_OR_RETURN(std::string cold, p_->Command({"LLEN", "p:cold"}));
    HEAPA_ASSIGN_OR_RETURN(std::string low, p_->Command({"ZCARD", "p:low"}));
    HEAPA_ASSIGN_OR_RETURN(std::string high, p_->Command({"ZCARD", "p:high"}));
    HEAPA_ASSIGN_OR_RETURN(std::string in_flight, p_->Command({"ZCARD", "p:inflight"}));
    HEAPA_ASSIGN_OR_RETURN(std::string archived, p_->Command({"SCARD", "p:archive"}));
    return fmt::format("cold {} low {} high {} in_flight {} archived {}", cold, low, high,
                       in_flight, archived);
  }

 private:
  static constexpr int64_t kLeaseMs = 10 * 60 * 1000;  // heapa's default lease
  std::unique_ptr<RedisPool> p_;
};

class RedisTarget final : public Target {
 public:
  explicit RedisTarget(const TargetOptions& o)
      : o_(o), server_(o.redis_server, o.work_dir + "/redis-" + o.appendfsync, o.appendfsync) {}
  std::string name() const override { return "redis-" + o_.appendfsync; }
  std::string Describe() const override {
    return fmt::format("redis-server {} on 127.0.0.1:{}, appendonly yes, appendfsync {}",
                       server_.version(), server_.port(), o_.appendfsync);
  }
  Status Start() override { return server_.Start(); }
  Result<std::unique_ptr<Session>> Connect() override {
    HEAPA_ASSIGN_OR_RETURN(auto p, RedisPool::Connect(server_.port(), o_.seed + sessions_++));
    return std::unique_ptr<Session>(new RedisSession(std::move(p)));
  }
  Result<double> Reopen() override { return server_.Restart(); }
  uint64_t ResidentKib() override { return bench::ResidentKib(server_.pid()); }
  void Stop() override { server_.Stop(); }

 private:
  const TargetOptions o_;
  RedisServer server_;
  uint64_t sessions_ = 0;
};

}  // namespace

std::unique_ptr<Target> NewRedisTarget(const TargetOptions& options) {
  return std::make_unique<RedisTarget>(options);
}

}  // namespace heapa::bench
