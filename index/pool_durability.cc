// The pool's write path: the writable check, committing a batch to the group commit, waiting
// for (or deferring) its durability, and what a failed write does to the pool.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "index/pool.h"
#include "index/pool_deferred.h"
#include "storage/batch.h"
#include "storage/check.h"
#include "storage/committer.h"
#include "storage/failpoint.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/store.h"

namespace heapa {

Status Pool::CheckWritable() {
  if (!store_) return Status::Unavailable("pool is closed");
  if (degraded_.ok()) {
    const Status failed = committer_->failure();
    if (failed.ok()) return Status::OK();
    // A group failed, and the caller that will hear of it has not rebuilt the index yet (a
    // server completes requests by callback): do it now, before anything else changes.
    AfterFailedWrite(failed, committer_.get());
    if (!store_) return Status::Unavailable("pool is closed: its index could not be rebuilt");
  }
  const auto now = std::chrono::steady_clock::now();
  if (!degraded_.ok() && now >= next_resume_) {
    next_resume_ = now + std::chrono::milliseconds(options_.resume_interval_ms);
    // The disk may be back: if the store takes writes again, what it holds is the truth.
    last_resume_ = store_->Resume();
    if (last_resume_.ok()) {
      last_resume_ = Rebuild();
    } else {
      // RocksDB keeps some write errors for good (a failed WAL append): reopen instead, unless
      // an admin operation holds the store right now (then: next time).
      std::unique_lock<std::mutex> admin(admin_mu_, std::try_to_lock);
      if (admin.owns_lock()) last_resume_ = ReopenStore();
    }
    if (last_resume_.ok() && committer_) {
      // Opening is not writing: prove the store takes a synced write before anything is
      // acknowledged again. It writes the counters, with next_lease above every lease the
      // lost writes granted, so that none of them is granted twice.
      storage::CountersRecord counters = ix_->counters();
      counters.next_lease = std::max(counters.next_lease, lease_floor_);
      std::string value;
      storage::EncodeCounters(counters, &value);
      storage::Batch probe;
      probe.Put(storage::MetaKey("counters"), value);
      last_resume_ = store_->Write(&probe);
      if (last_resume_.ok()) ix_->counters().next_lease = counters.next_lease;
    }
    if (last_resume_.ok()) {
      degraded_ = Status::OK();
      return Status::OK();
    }
    if (!store_ || !committer_) {  // nothing consistent is left to serve
      if (store_) (void)store_->Close();
      store_.reset();
      committer_.reset();
      ix_.reset();
      stats_ = index::StatsTable();
      return Status::Unavailable("pool is closed: it could not be reopened after a failed write (" +
                                 last_resume_.ToString() + ")");
    }
  }
  return Status::Unavailable(
      "pool is read-only after a failed write (" + degraded_.ToString() +
      "); writes resume when the store accepts them again" +
      (last_resume_.ok() ? "" : " (last attempt: " + last_resume_.ToString() + ")"));
}

Status Pool::CommitAndReadContent(std::unique_lock<std::mutex>& lock, storage::Batch* batch,
                                  const RequestKey& rk, std::vector<SampledQuery>* out) {
  const std::shared_ptr<storage::Committer> reader = committer_;
  const std::function<void()> hook = content_read_hook_;
  const std::pair<uint64_t, uint64_t> request(rk.client, rk.request);
  if (rk.request != 0) reading_requests_.insert(request);
  const auto done = [&] {
    if (rk.request == 0) return;
    std::lock_guard<std::mutex> relock(mu_);
    reading_requests_.erase(request);
    read_done_cv_.notify_all();
  };
  if (Status s = CommitBatch(lock, batch); !s.ok()) {
    done();
    return s;
  }
  if (hook) hook();
  // Overlapping this read with the write (on another thread) made a Sample(512) of a 1M pool
  // slower on 2 cores: both are CPU-bound, and the read already uses two threads.
  const Status read = ReadContent(*reader, out);
  if (!read.ok() && !out->empty()) ReleaseLease(out->front().lease, *out, rk);
  done();
  return read;
}

void Pool::ReleaseLease(LeaseId lease, const std::vector<SampledQuery>& sampled,
                        const RequestKey& rk) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!store_ || !CheckWritable().ok()) return;  // the lease expires as any other
  // In id order, as ExpireLeases returns the queries of one lease (one deadline).
  std::vector<index::Entry*> held;
  for (const SampledQuery& sq : sampled) {
    index::Entry* e = ix_->Find(sq.id);
    if (e != nullptr && e->state == QueryState::kInFlight && e->lease == lease) held.push_back(e);
  }
  if (held.empty() && rk.request == 0) return;
  std::sort(held.begin(), held.end(),
            [](const index::Entry* a, const index::Entry* b) { return a->id < b->id; });
  storage::Batch batch;
  if (rk.request != 0) batch.Delete(storage::RequestKey(rk.client, rk.request));
  ix_->Begin();
  for (index::Entry* e : held) ReturnToPool(*e);
  ix_->counters().total_expired += held.size();
  (void)CommitBatch(lock, &batch);  // a failed write degrades the pool; the caller has its error
}

Status Pool::CommitBatch(std::unique_lock<std::mutex>& lock, storage::Batch* batch) {
  storage::CountersRecord& counters = ix_->counters();
  const uint64_t seq = ++counters.durable_seq;
  const std::vector<uint64_t> touched = ix_->Touched();
  std::vector<std::pair<uint64_t, storage::StateRecord>> changed;
  changed.reserve(touched.size());  // a step changes about 1,500 states: no regrowth
  for (uint64_t id : touched) changed.emplace_back(id, ix_->Find(id)->ToRecord());
  // A small journal record still queued is folded into this batch's: a group of reports then
  // writes (and later deletes) one record instead of one per report.
  const auto foldable = [&](const auto& log) {
    return log.foldable() != 0 && committer_->Queued(log.foldable());
  };
  const uint64_t folded = state_log_.Write(
      seq, counters.next_id, std::move(changed),
      [this](uint64_t id) { return ix_->Find(id)->ToRecord(); }, batch, foldable(state_log_));
  // The statistics staged by PutStats: into stats_ first (a chunk rewrite reads them there),
  // then the log, by id (an id staged twice keeps its last record).
  std::vector<std::pair<uint64_t, std::string>> stats_changed;
  stats_changed.reserve(staged_stats_.size());
  for (size_t i = 0; i < staged_stats_.size(); ++i) {
    stats_.Set(staged_stats_.id(i), staged_stats_.record(i));
    stats_changed.emplace_back(staged_stats_.id(i), staged_stats_.record(i));
  }
  staged_stats_.Clear();
  std::stable_sort(stats_changed.begin(), stats_changed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t kept = 0;  // of equal ids, the last staged wins
  for (size_t i = 0; i < stats_changed.size(); ++i) {
    if (i + 1 < stats_changed.size() && stats_changed[i].first == stats_changed[i + 1].first) {
      continue;
    }
    if (kept != i) stats_changed[kept] = std::move(stats_changed[i]);
    ++kept;
  }
  stats_changed.resize(kept);
  const uint64_t stats_folded = stats_log_.Write(
      seq, counters.next_id, std::move(stats_changed),
      [this](uint64_t id) { return std::string(stats_.Encoded(id)); }, batch, foldable(stats_log_));
  std::string value;
  counters.rng_state = ix_->rng().state();
  counters.rng_inc = ix_->rng().inc();
  storage::EncodeCounters(counters, &value);
  batch->Put(storage::MetaKey("counters"), value);
  storage::Failpoint("pool.before_enqueue");
  ix_->Commit();
  if (folded == 0 && stats_folded == 0) {
    committer_->Enqueue(seq, std::move(*batch));
  } else {
    // A write may have taken a folded record's batch meanwhile: that record then stays, with
    // copies of its entries in this one.
    const std::string state_key = storage::JournalKey(folded);
    const std::string stats_key = storage::StatsJournalKey(stats_folded);
    std::vector<storage::Committer::Fold> folds;
    if (folded != 0) folds.push_back({folded, state_key});
    if (stats_folded != 0) folds.push_back({stats_folded, stats_key});
    std::vector<bool> removed;
    committer_->EnqueueFolding(seq, std::move(*batch), folds, &removed);
    for (size_t i = 0; i < folds.size(); ++i) {
      if (removed[i]) continue;
      if (folds[i].key == state_key) {
        state_log_.Unfold(folded);
      } else {
        stats_log_.Unfold(stats_folded);
      }
    }
  }
  return AwaitDurable(lock, seq);
}

Status Pool::AwaitDurable(std::unique_lock<std::mutex>& lock, uint64_t seq) {
  if (DeferredDurability* deferred = DeferredDurability::Current(this)) {
    deferred->Track(committer_, seq);
    lock.unlock();
    return Status::OK();
  }
  Status s = WaitDurable(lock, seq);
  lock.unlock();
  return s;
}

Status Pool::FinishUnchanged(std::unique_lock<std::mutex>& lock) {
  RollbackIndex();
  return AwaitDurable(lock, ix_->counters().durable_seq);
}

void Pool::PutStats(uint64_t id, const storage::StatsRecord& stats, std::string* scratch) {
  storage::EncodeStats(stats, scratch);
  staged_stats_.Add(id, *scratch);
}

void Pool::RollbackIndex() {
  ix_->Rollback();
  staged_stats_.Clear();
}

Status Pool::WaitDurable(std::unique_lock<std::mutex>& lock, uint64_t seq) {
  std::shared_ptr<storage::Committer> committer = committer_;
  lock.unlock();
  Status s = committer->Wait(seq);
  lock.lock();
  return s.ok() ? s : FailedWrite(s, committer.get());
}

Status Pool::FailedWrite(const Status& error, const storage::Committer* from) {
  const bool degraded_now = AfterFailedWrite(error, from);
  return Status::UnknownOutcome(std::string("write failed") +
                                (degraded_now ? ", the pool is now read-only" : "") + ": " +
                                error.ToString());
}

// ---- DeferredDurability

namespace {
thread_local Pool::DeferredDurability* t_deferred = nullptr;  // innermost scope of the thread
}  // namespace

Pool::DeferredDurability::DeferredDurability(Pool* pool) : pool_(pool), outer_(t_deferred) {
  t_deferred = this;
}

Pool::DeferredDurability::~DeferredDurability() { Release(); }

void Pool::DeferredDurability::Release() {
  if (!collecting_) return;
  collecting_ = false;
  // Scopes end in reverse order of creation on their thread.
  HEAPA_CHECK(t_deferred == this);
  t_deferred = outer_;
}

Pool::DeferredDurability* Pool::DeferredDurability::Current(const Pool* pool) {
  for (DeferredDurability* d = t_deferred; d != nullptr; d = d->outer_) {
    if (d->pool_ == pool) return d;
  }
  return nullptr;
}

void Pool::DeferredDurability::Track(const std::shared_ptr<storage::Committer>& current,
                                     uint64_t seq) {
  if (committer_ != nullptr && committer_ != current) {
    // The pool replaced its committer since this scope's last batch (a rebuild after a failed
    // write, a restore): the old one has finished its queue, and what it did not make durable
    // is lost. The new one's sequence numbers say nothing about it.
    if (lost_.ok() && committer_->durable_seq() < seq_) {
      lost_ = committer_->failure();
      if (lost_.ok())
        lost_ = Status::Internal("a batch was lost when the pool replaced its committer");
    }
  }
  if (committer_ != current || seq > seq_) {
    committer_ = current;
    seq_ = seq;
  }
}

Status Pool::DeferredDurability::Wait() {
  if (failed_.ok()) failed_ = WaitForQueued();
  return failed_;
}

Status Pool::DeferredDurability::WaitForQueued() {
  const Status lost = std::exchange(lost_, Status::OK());
  const std::shared_ptr<storage::Committer> committer = std::move(committer_);
  if (seq_ != 0) {
    const Status s = committer->Wait(seq_);
    seq_ = 0;
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(pool_->mu_);
      return pool_->FailedWrite(s, committer.get());
    }
  }
  // A batch lost with a replaced committer: the pool rebuilt without it already.
  if (!lost.ok()) return Status::UnknownOutcome("write failed: " + lost.ToString());
  return Status::OK();
}

void Pool::DeferredDurability::WhenDurable(
    std::function<void(const Status&, uint64_t durable_seq)> done) {
  HEAPA_CHECK(!collecting_);
  if (!failed_.ok()) return done(failed_, 0);
  if (!lost_.ok()) return done(lost_, 0);  // Wait() then says UnknownOutcome
  if (seq_ == 0) return done(Status::OK(), pool_->durable_seq());
  // The callback may hold the last reference to the committer: keep one for the call.
  std::shared_ptr<storage::Committer> committer = committer_;
  storage::Committer* c = committer.get();
  committer->WhenDurable(seq_, [c, done = std::move(done)](const Status& s) {
    done(s, s.ok() ? c->durable_seq() : 0);
  });
}

bool Pool::AfterFailedWrite(const Status& error, const storage::Committer* from) {
  // Another caller got here first, or the failed committer was replaced since.
  if (!degraded_.ok() || !store_ || from != committer_.get()) return false;
  // The outcome of the failed group is unknown, and the index ran ahead of it: rebuild the
  // index from what the store holds, and stop writing until a reopen.
  degraded_ = error;
  lease_floor_ = std::max(lease_floor_, ix_->counters().next_lease);
  next_resume_ =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.resume_interval_ms);
  Status rebuilt = Rebuild();
  if (!rebuilt.ok()) {
    (void)store_->Close();  // the pool cannot serve a half-built index
    store_.reset();
    committer_.reset();
    ix_.reset();
    stats_ = index::StatsTable();
  }
  return true;
}

}  // namespace heapa
