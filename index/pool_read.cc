// Pool reads: Get, Stats, config, the test snapshot, and Close.
#include <algorithm>

#include "index/pool.h"
#include "storage/committer.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/store.h"

namespace heapa {

Result<QueryInfo> Pool::Get(QueryId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  const index::Entry* e = ix_->Find(id);
  if (e == nullptr) return Status::NotFound("query " + std::to_string(id) + " not found");
  QueryInfo info;
  info.id = id;
  info.state = e->ToRecord();
  std::string value;
  const std::string qkey = storage::QueryKey(id);
  HEAPA_RETURN_IF_ERROR(committer_->Get(qkey, &value));
  HEAPA_RETURN_IF_ERROR(storage::AtKey(storage::DecodeQuery(value, &info.query), qkey));
  HEAPA_RETURN_IF_ERROR(stats_.Get(id, &info.stats));
  return info;
}

void Pool::FillIndexStats(PoolStats* out) const {
  PoolStats& st = *out;
  st.pooled = ix_->pooled();
  st.cold = ix_->count(QueryState::kCold);
  st.low = ix_->count(QueryState::kLow);
  st.high = ix_->count(QueryState::kHigh);
  st.in_flight = ix_->count(QueryState::kInFlight);
  st.archived = ix_->count(QueryState::kArchived);
  st.pending = ix_->count(QueryState::kPending);
  st.rejected = ix_->count(QueryState::kRejected);
  st.evicted = ix_->count(QueryState::kEvicted);
  if (!ix_->low().empty()) st.low_max = ix_->LowMaxReward();
  if (!ix_->high().empty()) st.high_min = ix_->HighMinReward();
  const int64_t now = NowMs();
  for (const index::Entry& e : ix_->in_flight()) {
    if (e.lease_deadline_ms > now) break;  // ordered by deadline
    ++st.expired_leases;
  }
  st.counters = ix_->counters();
  st.index_bytes = ix_->MemoryBytes();
  st.stats_bytes = stats_.bytes();
}

PoolStats Pool::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  PoolStats st;
  st.max_size = config_.max_size;
  // A pool closed after a failed restore or reopen has no index: its counters still never go
  // back (the retired_ ones).
  if (ix_) FillIndexStats(&st);
  // The index counts operations applied; what clients may rely on is what is durable.
  st.counters.durable_seq = committer_ ? committer_->durable_seq() : retired_durable_seq_;
  if (committer_) {
    const storage::Committer::Counters c = committer_->counters();
    st.commit_writes = c.writes;
    st.commit_batches = c.batches;
    st.commit_max_group = c.max_group;
  }
  st.commit_writes += retired_writes_;
  st.commit_batches += retired_batches_;
  st.commit_max_group = std::max(st.commit_max_group, retired_max_group_);
  st.wal_syncs = retired_wal_syncs_ + (store_ ? store_->WalSyncs() : 0);
  if (!degraded_.ok()) st.degraded = degraded_.ToString();
  return st;
}

uint64_t Pool::durable_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return committer_ ? committer_->durable_seq() : retired_durable_seq_;
}

RewardHistogram Pool::Rewards(std::span<const double> upper_bounds) const {
  RewardHistogram h;
  h.upper_bounds.assign(upper_bounds.begin(), upper_bounds.end());
  h.cumulative.assign(upper_bounds.size(), 0);
  std::lock_guard<std::mutex> lock(mu_);
  if (!ix_) return h;
  // LOW then HIGH is one walk in ascending reward (max LOW <= min HIGH).
  size_t bucket = 0;
  auto add = [&](const index::Entry& e) {
    while (bucket < upper_bounds.size() && e.reward > upper_bounds[bucket]) {
      h.cumulative[bucket++] = h.count;
    }
    ++h.count;
    h.sum += e.reward;
  };
  for (const index::Entry& e : ix_->low()) add(e);
  for (const index::Entry& e : ix_->high()) add(e);
  while (bucket < upper_bounds.size()) h.cumulative[bucket++] = h.count;
  return h;
}

PoolConfig Pool::config() const { return FromConfigRecord(config_); }

Pool::Snapshot Pool::TEST_Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!ix_) return Snapshot{};
  return SnapshotOf(*ix_);
}

size_t Pool::TEST_TrackedClients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_request_.size();
}

void Pool::TEST_LimitTrackedClients(size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  tracked_limit_ = limit;
}

void Pool::TEST_MutateIndex(const std::function<void(index::FrontierIndex&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ix_) fn(*ix_);
}

void Pool::TEST_MutateStats(const std::function<void(index::StatsTable&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  fn(stats_);
}

void Pool::TEST_FailWrites(const Status& error, bool after_writing) {
  std::lock_guard<std::mutex> lock(mu_);
  test_fail_writes_ = error;
  test_fail_after_writing_ = after_writing;
  if (store_) store_->TEST_FailWrites(error, after_writing);
}

void Pool::TEST_SetContentReadHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  content_read_hook_ = std::move(hook);
}

Status Pool::Close() {
  std::lock_guard<std::mutex> admin(admin_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  restore_unfinished_ = false;
  if (!store_) return Status::OK();
  // No committer: the index was never (re)built, as when Open fails to load it.
  Status drained = committer_ ? committer_->Drain() : Status::OK();
  RetireCounters(/*store=*/true);
  committer_.reset();
  stats_ = index::StatsTable();  // its memory: Get and Report answer Unavailable from now on
  Status s = store_->Close();
  store_.reset();
  return drained.ok() ? s : drained;
}

}  // namespace heapa
