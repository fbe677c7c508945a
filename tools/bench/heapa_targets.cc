// The heapa targets of heapa_bench: a Pool in this process, and heapad over loopback.
#include <fmt/core.h>
#include <signal.h>
#include <sys/wait.h>

#include <deque>
#include <filesystem>
#include <future>
#include <system_error>
#include <utility>

#include "index/pool.h"
#include "index/pool_deferred.h"
#include "index/pool_options.h"
#include "index/refresh.h"
#include "net/client.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/process.h"
#include "tools/bench/target.h"

namespace heapa::bench {
namespace {

constexpr const char* kPoolName = "bench";
// Inserts an in-process InsertMany keeps being written behind the one it applies.
constexpr size_t kInsertsWriting = 2;

index::RefreshOptions ChildAgg() {
  index::RefreshOptions o;
  o.mode = RefreshMode::kChild;
  return o;
}

PoolConfig BenchConfig(const TargetOptions& o) {
  PoolConfig c;
  c.max_size = std::max<uint64_t>(o.pool_size, 1);
  c.rng_seed = o.seed;
  return c;
}

std::string FormatCounts(const PoolStats& s) {
  return fmt::format("cold {} low {} high {} in_flight {} archived {}", s.cold, s.low, s.high,
                     s.in_flight, s.archived);
}

// ---- inproc: heapa::Pool in this process; sessions share it (Pool is thread-safe).

class InProcSession final : public Session {
 public:
  explicit InProcSession(Pool* pool) : pool_(pool) {}
  Status Insert(std::span<const NewQuery> queries) override {
    return pool_->Insert(queries).status();
  }
  // Pipelined in a process: each Insert applies and queues its batch, and a helper thread
  // waits for it, which writes it (the committer's leader) while this thread applies the next.
  Status InsertMany(std::span<const std::vector<NewQuery>> batches) override {
    std::deque<std::future<Status>> writing;
    Status result;
    auto finish_oldest = [&] {
      Status s = writing.front().get();
      writing.pop_front();
      if (result.ok()) result = s;
    };
    for (const std::vector<NewQuery>& batch : batches) {
      auto scope = std::make_shared<Pool::DeferredDurability>(pool_);
      const Status applied = pool_->Insert(batch).status();
      scope->Release();
      try {
        writing.push_back(std::async(std::launch::async, [scope] { return scope->Wait(); }));
      } catch (const std::system_error&) {  // no thread to be had: wait here, unpipelined
        std::promise<Status> waited;
        waited.set_value(scope->Wait());
        writing.push_back(waited.get_future());
      }
      if (!applied.ok()) {
        result = applied;
        break;
      }
      while (writing.size() > kInsertsWriting) finish_oldest();
    }
    while (!writing.empty()) finish_oldest();
    return result;
  }
  Result<std::vector<SampledQuery>> Sample(uint32_t count, bool with_content) override {
    return pool_->Sample(
        SampleRequest{.count = count, .lease_ms = 0, .with_content = with_content});
  }
  Result<std::vector<ReportOutcome>> Report(std::span<const ReportItem> items) override {
    return pool_->Report(items);
  }
  // Pipelined in a process: each Report applies and queues its batch; one wait for them all.
  Status ReportMany(std::span<const std::vector<ReportItem>> reports) override {
    Pool::DeferredDurability scope(pool_);
    for (const std::vector<ReportItem>& r : reports) {
      if (Status s = pool_->Report(r).status(); !s.ok()) {
        scope.Release();
        (void)scope.Wait();  // those before it are still acknowledged only when durable
        return s;
      }
    }
    scope.Release();
    return scope.Wait();
  }
  Status InsertChildren(std::span<const NewChild> children) override {
    return pool_->InsertChildren(children).status();
  }
  Result<size_t> RefreshDryRun() override {
    HEAPA_ASSIGN_OR_RETURN(auto values, pool_->RefreshDryRun(ChildAgg()));
    return values.size();
  }
  std::optional<PoolStats> Stats() override { return pool_->Stats(); }
  Result<std::string> Counts() override { return FormatCounts(pool_->Stats()); }

 private:
  Pool* pool_;
};

class InProcTarget final : public Target {
 public:
  explicit InProcTarget(const TargetOptions& o) : o_(o) {}
  std::string name() const override { return "inproc"; }
  std::string Describe() const override {
    return fmt::format("heapa::Pool in this process, sync={}", o_.sync);
  }
  // A kept pool (--db) that exists already is reused: benchmarks other than fill run on it.
  Status Start() override {
    if (!o_.pool_dir.empty() && std::filesystem::exists(o_.pool_dir)) return Open(false);
    return Open(/*create=*/true);
  }
  Result<std::unique_ptr<Session>> Connect() override {
    return std::unique_ptr<Session>(new InProcSession(pool_.get()));
  }
  Result<double> Reopen() override {
    HEAPA_RETURN_IF_ERROR(pool_->Close());
    pool_.reset();
    const auto start = SteadyClock::now();
    HEAPA_RETURN_IF_ERROR(Open(/*create=*/false));
    return MsSince(start);
  }
  uint64_t ResidentKib() override { return bench::ResidentKib(0); }
  void Stop() override {
    if (pool_) (void)pool_->Close();  // the temp dir is removed by the caller
    pool_.reset();
  }

 private:
  Status Open(bool create) {
    PoolOptions options;
    options.create_if_missing = create;
    options.error_if_exists = create;  // a fill into an old pool would only find duplicates
    options.config = BenchConfig(o_);
    options.sync = o_.sync;
    const std::string dir = o_.pool_dir.empty() ? o_.work_dir + "/pool" : o_.pool_dir;
    HEAPA_ASSIGN_OR_RETURN(pool_, Pool::Open(dir, options));
    return Status::OK();
  }

  const TargetOptions o_;
  std::unique_ptr<Pool> pool_;
};

// ---- heapad: the daemon over loopback, through net::Client.

class HeapadSession final : public Session {
 public:
  explicit HeapadSession(std::unique_ptr<net::Client> c) : c_(std::move(c)) {}
  Status Insert(std::span<const NewQuery> queries) override {
    return c_->Insert(kPoolName, queries).status();
  }
  Status InsertMany(std::span<const std::vector<NewQuery>> batches) override {
    return c_->InsertMany(kPoolName, batches).status();
  }
  Result<std::vector<SampledQuery>> Sample(uint32_t count, bool with_content) override {
    return c_->Sample(kPoolName,
                      SampleRequest{.count = count, .lease_ms = 0, .with_content = with_content});
  }
  Result<std::vector<ReportOutcome>> Report(std::span<const ReportItem> items) override {
    return c_->Report(kPoolName, items);
  }
  Status ReportMany(std::span<const std::vector<ReportItem>> reports) override {
    return c_->ReportMany(kPoolName, reports).status();
  }
  Status InsertChildren(std::span<const NewChild> children) override {
    return c_->InsertChildren(kPoolName, children).status();
  }
  Result<size_t> RefreshDryRun() override {
    HEAPA_ASSIGN_OR_RETURN(auto values, c_->Refresh(kPoolName, ChildAgg()));
    return values.size();
  }
  std::optional<PoolStats> Stats() override {
    auto s = c_->Stats(kPoolName);
    if (!s.ok()) return std::nullopt;
    return *s;
  }
  Result<std::string> Counts() override {
    HEAPA_ASSIGN_OR_RETURN(PoolStats s, c_->Stats(kPoolName));
    return FormatCounts(s);
  }

 private:
  std::unique_ptr<net::Client> c_;
};

class HeapadTarget final : public Target {
 public:
  explicit HeapadTarget(const TargetOptions& o) : o_(o), port_(o.port) {}
  std::string name() const override { return "heapad"; }
  std::string Describe() const override {
    return o_.port != 0
               ? fmt::format("heapad at {}:{} (not started by the bench)", o_.host, o_.port)
               : fmt::format("{} on 127.0.0.1:{}, sync={}", o_.heapad_path, port_, o_.sync);
  }
  Status Start() override {
    if (o_.port == 0) HEAPA_RETURN_IF_ERROR(Launch());
    HEAPA_ASSIGN_OR_RETURN(auto c, Client());
    // A pool left by an earlier run of an external daemon would only find duplicates.
    if (o_.port != 0) (void)c->DropPool(kPoolName);
    return c->CreatePool(kPoolName, BenchConfig(o_));
  }
  Result<std::unique_ptr<Session>> Connect() override {
    HEAPA_ASSIGN_OR_RETURN(auto c, Client());
    return std::unique_ptr<Session>(new HeapadSession(std::move(c)));
  }
  // SIGTERM (heapad drains and closes its pools), start again, time until it listens (it
  // opens every pool, rebuilding the indexes, before it listens) and answers a Stats.
  Result<double> Reopen() override {
    if (o_.port != 0) return Status::FailedPrecondition("reopen needs a heapad the bench started");
    const int st = daemon_.Stop(SIGTERM);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      return Status::Internal(fmt::format("heapad did not exit cleanly (status {})", st));
    }
    const auto start = SteadyClock::now();
    HEAPA_RETURN_IF_ERROR(Launch());
    HEAPA_ASSIGN_OR_RETURN(auto c, Client());
    HEAPA_RETURN_IF_ERROR(c->Stats(kPoolName).status());
    return MsSince(start);
  }
  uint64_t ResidentKib() override {
    return daemon_.running() ? bench::ResidentKib(daemon_.pid()) : 0;
  }
  void Stop() override {
    if (auto c = Client(); c.ok()) (void)(*c)->DropPool(kPoolName);
    if (daemon_.running()) (void)daemon_.Stop(SIGTERM);
  }

 private:
  Status Launch() {
    std::vector<std::string> argv = {o_.heapad_path, "--data-dir", o_.work_dir + "/heapad-data",
                                     "--listen", "127.0.0.1:0"};
    if (!o_.sync) argv.push_back("--no-sync");
    HEAPA_RETURN_IF_ERROR(
        daemon_.Start(argv, /*capture_stdout=*/true, o_.work_dir + "/heapad.log"));
    // "heapad listening on 127.0.0.1:PORT data-dir ..."
    auto line = daemon_.WaitForLine("heapad listening on ", 600000);
    if (!line.ok()) {
      return Status::Unavailable(fmt::format("heapad did not start ({}); see {}/heapad.log",
                                             line.status().ToString(), o_.work_dir));
    }
    const std::string rest = line->substr(std::string("heapad listening on ").size());
    const size_t colon = rest.find(':');
    port_ = static_cast<uint16_t>(std::stoul(rest.substr(colon + 1)));
    return Status::OK();
  }
  Result<std::unique_ptr<net::Client>> Client() {
    net::ClientOptions co;
    co.host = o_.port != 0 ? o_.host : "127.0.0.1";
    co.port = port_;
    co.timeout_ms = 600000;
    co.client_name = "heapa-bench";
    return net::Client::Connect(co);
  }

  const TargetOptions o_;
  uint16_t port_;
  ChildProcess daemon_;
};

}  // namespace

std::unique_ptr<Target> NewInProcTarget(const TargetOptions& options) {
  return std::make_unique<InProcTarget>(options);
}
std::unique_ptr<Target> NewHeapadTarget(const TargetOptions& options) {
  return std::make_unique<HeapadTarget>(options);
}

}  // namespace heapa::bench
