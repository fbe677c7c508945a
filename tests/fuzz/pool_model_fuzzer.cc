// fuzz_pool_model: a differential target (reliability-plan §4.4 C4). The input is a pool
// config and a sequence of operations (insert, sample, report, clock advance, reinsert,
// recover, reopen) applied to a real Pool in a scratch directory and to the reference model
// (tests/testutil/model_pool.h) side by side. After every step the sets and their order, the
// counters, the RNG state, the stats and the frontier must agree and the invariants of
// heapa-algorithm.md §2 must hold, as in tests/index/pool_model_test.cc; at the end the index
// must equal a rebuild from storage (Pool::VerifyIndex).
//
// Input layout: 4 config bytes (max_size, low_fraction, sampling|eviction|rewards, reinsert
// threshold), then one opcode byte per step followed by the bytes that step consumes. At most
// kMaxSteps steps; running out of bytes ends the run (reads past the end give 0).
#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "index/pool.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/scratch_dir.h"
#include "tests/testutil/model_compare.h"
#include "tests/testutil/model_pool.h"

namespace heapa::fuzz {
namespace {

using testing::Describe;
using testing::ModelPool;
using testing::Str;
using Where = ModelPool::Where;

constexpr int kMaxSteps = 200;
constexpr uint64_t kMaxSizes[] = {1, 2, 3, 8, 20, 40, 1'000'000};
constexpr double kLowFractions[] = {0.05, 0.3, 0.5, 0.7, 0.9, 0.95};

NewQuery Query(int n, std::optional<double> reward) {
  NewQuery q;
  q.prompt = "q" + std::to_string(n);
  q.answer = "a" + std::to_string(n);
  q.source = "fuzz";
  q.reward = reward;
  return q;
}

class Run {
 public:
  Run(Bytes* in, const PoolConfig& config, bool discrete)
      : in_(*in), config_(config), discrete_(discrete), model_(config, true) {
    pool_ = Open(true);
  }

  ~Run() {
    if (pool_) (void)pool_->Close();
  }

  void Go() {
    Compare();
    for (step_ = 1; step_ <= kMaxSteps && !in_.empty(); ++step_) {
      const uint8_t op = in_.U8();
      switch (op % 16) {
        case 0:
        case 1:
        case 2:
        case 3:
          DoInsert();
          break;
        case 4:
        case 5:
        case 6:
        case 7:
          DoSample();
          break;
        case 8:
        case 9:
          now_ms_ += static_cast<int64_t>(25 * (in_.U8() % 13));
          Note("advance clock to " + std::to_string(now_ms_));
          break;
        case 10:
        case 11:
        case 12:
          DoReport();
          break;
        case 13: {
          Note("reinsert");
          const Result<size_t> n = pool_->Reinsert();
          Expect(n.ok() && *n == model_.Reinsert(), "Reinsert count: " + n.status().ToString());
          break;
        }
        case 14: {
          Note("recover");
          const Result<size_t> n = pool_->Recover();
          Expect(n.ok() && *n == model_.Recover(), "Recover count: " + n.status().ToString());
          break;
        }
        default:
          // Reopening costs a RocksDB open: only one opcode in 16 * 4.
          if (op < 64) {
            DoReopen();
          } else {
            Note("no-op");
          }
          break;
      }
      Compare();
    }
    const Status v = pool_->VerifyIndex();
    Expect(v.ok(), "VerifyIndex: " + v.ToString());
  }

 private:
  std::unique_ptr<Pool> Open(bool create) {
    PoolOptions options;
    options.create_if_missing = create;
    if (create) options.config = config_;
    options.sync = false;  // semantics, not durability; Close() makes every write visible
    options.clock_ms = [this] { return now_ms_; };
    options.write_buffer_bytes = 1 << 20;
    Result<std::unique_ptr<Pool>> pool = Pool::Open(dir_.Sub("pool"), options);
    Expect(pool.ok(), "open: " + pool.status().ToString());
    return std::move(pool).value();
  }

  double Reward() {
    if (discrete_) return static_cast<double>(in_.U8() % 17) / 8.0 - 1.0;
    return static_cast<double>(in_.U32()) / 4294967295.0 * 2.0 - 1.0;
  }

  void Note(std::string op) {
    op_ = std::move(op);
    history_.push_back("step " + std::to_string(step_) + ": " + op_);
    if (history_.size() > 8) history_.pop_front();
  }

  void Expect(bool ok, const std::string& what) {
    if (ok) return;
    std::ostringstream msg;
    msg << "max_size " << config_.max_size << " low_fraction " << config_.low_fraction
        << " sampling " << static_cast<int>(config_.sampling) << " eviction "
        << static_cast<int>(config_.eviction) << " reinsert_below " << config_.reinsert_below
        << ", step " << step_ << " (" << op_ << "): " << what << "\nlast steps:";
    for (const std::string& h : history_) msg << "\n  " << h;
    Fail(__FILE__, __LINE__, msg.str());
  }

  void DoInsert() {
    const size_t n = 1 + in_.U8() % 8;
    std::vector<NewQuery> batch;
    std::ostringstream what;
    what << "insert";
    for (size_t i = 0; i < n; ++i) {
      const uint8_t b = in_.U8();
      int content = next_content_;
      if (next_content_ > 0 && (b & 0x07) == 0) {
        content = static_cast<int>(in_.U8() % next_content_);  // a repeat of earlier content
      } else {
        ++next_content_;
      }
      std::optional<double> reward;
      if (b & 0x10) reward = Reward();
      batch.push_back(Query(content, reward));
      if ((b & 0xe0) == 0xe0) batch.push_back(batch.back());  // a repeat within the batch
      what << " q" << content << "=" << Str(reward);
    }
    Note(what.str());
    const Result<std::vector<InsertResult>> got = pool_->Insert(batch);
    const std::vector<InsertResult> want = model_.Insert(batch);
    Expect(got.ok(), "Insert failed: " + got.status().ToString());
    bool same = got->size() == want.size();
    for (size_t i = 0; same && i < want.size(); ++i) {
      same = (*got)[i].id == want[i].id && (*got)[i].created == want[i].created;
    }
    Expect(same, "Insert results differ");
  }

  void DoSample() {
    const uint32_t count = 1 + in_.U8() % 16;
    static constexpr int64_t kLeases[] = {0, 50, 150, 400, 1000};
    const int64_t lease_ms = kLeases[in_.U8() % 5];
    Note("sample " + std::to_string(count) + " lease_ms " + std::to_string(lease_ms));
    SampleRequest req;
    req.count = count;
    req.lease_ms = lease_ms;
    req.with_content = false;
    const Result<std::vector<SampledQuery>> got = pool_->Sample(req);
    const std::vector<SampledQuery> want = model_.Sample(count, lease_ms, now_ms_);
    Expect(got.ok(), "Sample failed: " + got.status().ToString());
    const std::string g = Describe(*got), w = Describe(want);
    Expect(g == w, "sampled (id@lease:deadline:from:reward): pool " + g + "; model " + w);
  }

  // Reports some of what is in flight; byte flags add a late report, a duplicate, or any lease.
  void DoReport() {
    const std::vector<ModelPool::Query>& qs = model_.queries();
    std::vector<ReportItem> items;
    std::set<QueryId> used;
    const auto add = [&](QueryId id, LeaseId lease) {
      if (!used.insert(id).second) return;
      ReportItem it;
      it.id = id;
      it.lease = lease;
      const size_t rollouts = 1 + in_.U8() % 4;
      for (size_t r = 0; r < rollouts; ++r) it.rewards.push_back(Reward());
      it.step = step_;
      items.push_back(std::move(it));
    };
    const uint8_t pick = in_.U8();  // which in-flight queries: bit i of a rotating mask
    const uint8_t flags = in_.U8();
    size_t i = 0;
    for (const ModelPool::Query& q : qs) {
      if (q.where == Where::kInFlight && ((pick >> (i++ % 8)) & 1)) add(q.id, q.lease);
    }
    std::vector<const ModelPool::Query*> late, reported;
    for (const ModelPool::Query& q : qs) {
      const bool done =
          std::find(q.reported.begin(), q.reported.end(), q.lease) != q.reported.end();
      if (q.lease != 0 && q.where != Where::kInFlight && !done) late.push_back(&q);
      if (!q.reported.empty()) reported.push_back(&q);
    }
    if (!late.empty() && (flags & 1)) {  // late: the lease expired or was recovered, unreported
      const ModelPool::Query& q = *late[in_.U8() % late.size()];
      add(q.id, q.lease);
    }
    if (!reported.empty() && (flags & 2)) {
      const ModelPool::Query& q = *reported[in_.U8() % reported.size()];
      add(q.id, (flags & 4) ? q.reported.back() : q.reported[in_.U8() % q.reported.size()]);
    }
    if (!qs.empty() && (flags & 0xf8) == 0xf8) {  // any lease at all
      const ModelPool::Query& q = qs[in_.U8() % qs.size()];
      const LeaseId next = model_.counters().next_lease;
      if (next > 1) add(q.id, 1 + in_.U32() % (next - 1));
    }
    std::ostringstream what;
    what << "report";
    for (const ReportItem& it : items) what << " " << it.id << "@" << it.lease;
    Note(what.str());
    if (items.empty()) return;
    const Result<std::vector<ReportOutcome>> got = pool_->Report(items);
    const std::optional<std::vector<ReportOutcome>> want = model_.Report(items);
    if (!want) {
      Expect(got.status().code() == Status::Code::kFailedPrecondition,
             "Report should fail with FailedPrecondition, got " + got.status().ToString());
      return;
    }
    Expect(got.ok(), "Report failed: " + got.status().ToString());
    std::vector<int> g, w;
    for (ReportOutcome o : *got) g.push_back(static_cast<int>(o));
    for (ReportOutcome o : *want) w.push_back(static_cast<int>(o));
    Expect(g == w,
           "report outcomes (0 applied, 1 duplicate, 2 late): pool " + Str(g) + " model " + Str(w));
  }

  void DoReopen() {
    Note("close and reopen");
    const Status s = pool_->Close();
    Expect(s.ok(), "Close: " + s.ToString());
    pool_.reset();
    pool_ = Open(false);
  }

  void Compare() {
    const testing::ModelComparison c = testing::CompareWithModel(*pool_, model_, config_);
    for (const std::string& d : c.differences) Expect(false, d);
  }

  Bytes& in_;
  const PoolConfig config_;
  const bool discrete_;
  ScratchDir dir_;
  int64_t now_ms_ = 1'000'000;
  ModelPool model_;
  std::unique_ptr<Pool> pool_;
  int next_content_ = 0;
  int step_ = 0;
  std::string op_ = "open";
  std::deque<std::string> history_;
};

}  // namespace
}  // namespace heapa::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace heapa;
  using namespace heapa::fuzz;
  if (size < 5) return 0;  // a config and at least one step
  Bytes in(data, size);
  PoolConfig config;
  config.max_size = kMaxSizes[in.U8() % std::size(kMaxSizes)];
  config.low_fraction = kLowFractions[in.U8() % std::size(kLowFractions)];
  const uint8_t modes = in.U8();
  config.sampling = (modes & 1) ? SamplingMode::kMixed : SamplingMode::kMedium;
  config.eviction = (modes & 2) ? EvictionPolicy::kExtremes : EvictionPolicy::kReference;
  const bool discrete = (modes & 4) == 0;
  config.reinsert_below = in.U8() % 4 == 0 ? in.U8() % 32 : 0;
  config.default_lease_ms = 300;
  config.rng_seed = 0x5eed ^ modes;
  Run run(&in, config, discrete);
  run.Go();
  return 0;
}
