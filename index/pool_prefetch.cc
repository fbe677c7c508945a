// Statistics read ahead: after a Sample, once the pool's mutations pause (as while a trainer
// generates its rollouts), the 'T' records of its queries are read on a background thread, so
// that their Report, which comes after the rollouts, finds them in memory. Without it a Report of
// 512 queries reads 512 records at random under the pool's lock: 0.4 ms on a fresh 1M pool,
// 1.7 ms on one aged by 3,000 steps (README, session 11). With 50 ms between Sample and Report,
// a step on the aged pool took 8.2-8.3 ms instead of 11.1-11.7 (README, session 12).
//
// Back to back (a benchmark's steps, a trainer sampling batch after batch) the read-ahead only
// took the cores from the requests: Sample(512) made 162-166k queries/s instead of 180-182k,
// and a step on a fresh pool took 5.5-5.9 ms instead of 5.2-5.4 (three alternated rounds). So
// it waits for a pause in the pool's mutations (AwaitQuiet), as while rollouts are generated.
//
// The read runs without mu_, so a writer may change a record between the read and the fill:
// every writer of a 'T' record goes through PutStats, which removes the id from prefetching_
// (and from prefetched_), and the fill keeps only ids still in prefetching_. A Report waits
// for a read under way of its queries rather than read them twice (AwaitPrefetch). A rebuild
// or a close drops everything (ForgetPrefetched), the fill of a read under way included.
//
// A failed group write drops the committer's overlay, so a record read from it may be lost:
// the invariant (pool.h) holds again only once AfterFailedWrite has rebuilt the index (and
// dropped everything). A Report takes records only after BeginMutation, whose CheckWritable
// does that rebuild first.
#include <algorithm>
#include <chrono>
#include <exception>

#include "index/pool.h"
#include "storage/batch.h"
#include "storage/committer.h"
#include "storage/keys.h"
#include "storage/records.h"

namespace heapa {

void Pool::PrefetchStats(const std::vector<SampledQuery>& sampled) {
  const size_t min = options_.prefetch_stats_min;
  if (min == 0 || sampled.size() < min) return;
  std::vector<uint64_t> ids(sampled.size());
  for (size_t i = 0; i < sampled.size(); ++i) ids[i] = sampled[i].id;
  // Dropped when read-aheads pile up: the Report then reads the records itself.
  if (!prefetcher_.Post([this, ids = std::move(ids)] { RunPrefetch(ids); })) {
    std::lock_guard<std::mutex> lock(mu_);
    ++prefetch_skipped_;
  }
}

void Pool::AwaitPrefetch(std::unique_lock<std::mutex>& lock, std::span<const ReportItem> items) {
  const auto reading = [&] {
    return std::any_of(items.begin(), items.end(),
                       [&](const ReportItem& it) { return prefetching_.contains(it.id); });
  };
  while (!prefetching_.empty() && reading()) prefetched_cv_.wait(lock);
}

bool Pool::AwaitQuiet(std::unique_lock<std::mutex>& lock) {
  const auto quiet = std::chrono::milliseconds(options_.prefetch_quiet_ms);
  if (quiet.count() <= 0) return true;
  for (int window = 0; window < kPrefetchQuietWindows; ++window) {
    const uint64_t seen = mutations_;
    // Close and Rebuild notify (ForgetPrefetched): a closing pool does not wait for a window.
    prefetched_cv_.wait_for(lock, quiet);
    if (!store_) return false;
    if (mutations_ == seen) return true;
  }
  return false;
}

void Pool::RunPrefetch(const std::vector<uint64_t>& ids) {
  try {
    std::unique_lock<std::mutex> lock(mu_);
    if (!AwaitQuiet(lock)) {
      if (store_) ++prefetch_skipped_;  // no pause (a closing pool skips nothing worth counting)
      return;
    }
    if (!store_ || !committer_) return;  // closing
    if (!degraded_.ok()) {
      ++prefetch_skipped_;  // read-only until rebuilt: the Report will fail or read itself
      return;
    }
    std::vector<uint64_t> wanted;
    wanted.reserve(ids.size());
    for (uint64_t id : ids) {
      const index::Entry* e = ix_->Find(id);
      if (e != nullptr && e->state == QueryState::kInFlight && !prefetched_.contains(id)) {
        wanted.push_back(id);
      }
    }
    if (wanted.size() > kMaxPrefetched) wanted.resize(kMaxPrefetched);
    if (wanted.empty()) return;
    // Records of queries never reported (a trainer that went away) are dropped here, at the
    // latest: all of them, which is simpler than aging them and as rare.
    if (prefetched_.size() + wanted.size() > kMaxPrefetched) prefetched_.clear();
    prefetching_.insert(wanted.begin(), wanted.end());
    const std::shared_ptr<storage::Committer> reader = committer_;
    const std::function<void()> hook = prefetch_hook_;
    lock.unlock();

    std::vector<storage::StatsRecord> stats;
    const Status read = ReadStatsMany(*reader, wanted, &stats);
    if (hook) hook();

    lock.lock();
    // Kept: the ids no PutStats or ForgetPrefetched took out of prefetching_ meanwhile. A failed
    // read keeps nothing; the Report reads the records itself and reports the error.
    if (read.ok()) {
      for (size_t i = 0; i < wanted.size(); ++i) {
        if (prefetching_.erase(wanted[i]) > 0) {
          prefetched_.emplace(wanted[i], std::move(stats[i]));
        }
      }
    }
    prefetching_.clear();  // only this thread adds to it, one read-ahead at a time
    prefetched_cv_.notify_all();
  } catch (const std::exception&) {
    // Out of memory, say: a task must not throw (task_thread.h), and only the read-ahead is lost.
    std::lock_guard<std::mutex> lock(mu_);
    prefetching_.clear();
    prefetched_cv_.notify_all();
  }
}

Status Pool::TakeStats(const std::vector<uint64_t>& ids, std::vector<storage::StatsRecord>* stats) {
  if (prefetched_.empty()) {
    prefetch_misses_ += ids.size();
    return ReadStatsMany(*committer_, ids, stats);
  }
  stats->assign(ids.size(), storage::StatsRecord());
  std::vector<uint64_t> missing;
  std::vector<size_t> missing_at;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto held = prefetched_.find(ids[i]);
    if (held == prefetched_.end()) {
      missing.push_back(ids[i]);
      missing_at.push_back(i);
      continue;
    }
    (*stats)[i] = std::move(held->second);
    prefetched_.erase(held);  // the Report rewrites it (or leaves it, when it applies nothing)
    ++prefetch_hits_;
  }
  if (missing.empty()) return Status::OK();
  prefetch_misses_ += missing.size();
  std::vector<storage::StatsRecord> read;
  HEAPA_RETURN_IF_ERROR(ReadStatsMany(*committer_, missing, &read));
  for (size_t j = 0; j < missing.size(); ++j) (*stats)[missing_at[j]] = std::move(read[j]);
  return Status::OK();
}

void Pool::PutStats(uint64_t id, const storage::StatsRecord& stats, storage::Batch* batch,
                    std::string* scratch) {
  storage::EncodeStats(stats, scratch);
  batch->Put(storage::StatsKey(id), *scratch);
  prefetched_.erase(id);
  // No writer reaches an id being read today (a Report waits for the read, and the other
  // writers of 'T' records write archived or new queries, never ones in flight); this keeps
  // the invariant for any writer all the same.
  prefetching_.erase(id);
}

void Pool::ForgetPrefetched() {
  prefetched_.clear();
  prefetching_.clear();  // the read under way keeps nothing
  prefetched_cv_.notify_all();
}

void Pool::TEST_WaitPrefetch() { prefetcher_.WaitIdle(); }

std::vector<QueryId> Pool::TEST_PrefetchedIds() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<QueryId> ids;
  for (const auto& held : prefetched_) ids.push_back(held.first);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void Pool::TEST_SetPrefetchHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  prefetch_hook_ = std::move(hook);
}

void Pool::TEST_SetContentReadHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  content_read_hook_ = std::move(hook);
}

}  // namespace heapa
