// Pool mutations: the operations built on the single write path (pool_durability.cc).
#include "index/pool.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "index/op_results.h"
#include "index/placement.h"
#include "index/query_checks.h"
#include "index/running_stats.h"
#include "index/sampler.h"
#include "storage/batch.h"
#include "storage/check.h"
#include "storage/committer.h"
#include "storage/failpoint.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/store.h"

namespace heapa {
namespace {

std::string Item(size_t i) { return "query " + std::to_string(i); }

Status ValidateNewQuery(const NewQuery& q, size_t i) {
  HEAPA_RETURN_IF_ERROR(
      index::CheckQueryFields(q.prompt, q.answer, q.source, q.tokens.size(), q.meta)
          .WithContext(Item(i)));
  if (q.origin != Origin::kSeed && q.origin != Origin::kAugmented) {
    return Status::InvalidArgument(Item(i) + ": unknown origin");
  }
  if (q.reward && !std::isfinite(*q.reward)) {
    return Status::InvalidArgument(Item(i) + ": reward is not finite");
  }
  return Status::OK();
}

}  // namespace

void Pool::ReturnToPool(index::Entry& e) {
  index::Placement placement(ix_.get(), config_);
  ix_->Detach(e);
  e.lease_deadline_ms = 0;
  placement.Add(e, /*keep_cold_seq=*/!e.has_reward);
}

size_t Pool::ExpireLeases(int64_t now_ms) {
  size_t n = 0;
  auto& in_flight = ix_->in_flight();
  while (!in_flight.empty() && in_flight.begin()->lease_deadline_ms <= now_ms) {
    ReturnToPool(*in_flight.begin());
    ++n;
  }
  ix_->counters().total_expired += n;
  return n;
}

Result<std::vector<InsertResult>> Pool::Insert(std::span<const NewQuery> queries,
                                               const RequestKey& rk) {
  if (queries.size() > options_.max_batch) {
    return Status::InvalidArgument("insert of " + std::to_string(queries.size()) +
                                   " queries exceeds max_batch " +
                                   std::to_string(options_.max_batch));
  }
  for (size_t i = 0; i < queries.size(); ++i)
    HEAPA_RETURN_IF_ERROR(ValidateNewQuery(queries[i], i));

  std::unique_lock<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  HEAPA_ASSIGN_OR_RETURN(const auto stored, BeginMutation(lock, rk, storage::OpKind::kInsert));
  if (stored) return index::InsertResultsFromRecord(*stored);
  std::vector<InsertResult> results(queries.size());
  std::vector<storage::Hash128> hashes(queries.size());
  HEAPA_RETURN_IF_ERROR(ResolveDuplicates(
      queries.size(),
      [&](size_t i) {
        return ContentRef{queries[i].prompt, queries[i].answer};
      },
      &results, &hashes));
  std::string value;

  const int64_t now = NowMs();
  storage::Batch batch;
  ix_->Begin();
  index::Placement placement(ix_.get(), config_);
  storage::CountersRecord& counters = ix_->counters();
  std::vector<std::pair<std::string, uint64_t>> dedup_puts;
  for (size_t i = 0; i < queries.size(); ++i) {
    if (!results[i].created) continue;
    const NewQuery& q = queries[i];
    index::Entry& e = ix_->Create();
    results[i].id = e.id;
    e.has_reward = q.reward.has_value();
    e.reward = q.reward.value_or(0);
    placement.Add(e);

    storage::QueryRecord rec;
    rec.prompt = q.prompt;
    rec.answer = q.answer;
    rec.source = q.source;
    rec.origin = q.origin;
    rec.tokens = q.tokens;
    rec.meta = q.meta;
    rec.created_step = q.step;
    rec.created_ms = now;
    storage::EncodeQuery(rec, &value);
    batch.Put(storage::QueryKey(e.id), value);
    dedup_puts.emplace_back(storage::DedupKey(hashes[i]), e.id);
    ++counters.total_added;
  }
  // Dedup keys are hashes: put them in key order, which the memtable inserts fastest.
  std::sort(dedup_puts.begin(), dedup_puts.end());
  for (const auto& [key, id] : dedup_puts) {
    storage::EncodeDedup(id, &value);
    batch.Put(key, value);
  }
  placement.EvictToCapacity();
  FinishDuplicates(&results, hashes);
  StoreResult(rk, index::InsertResultsToRecord(storage::OpKind::kInsert, results), &batch);
  HEAPA_RETURN_IF_ERROR(CommitBatch(lock, &batch));
  return results;
}

Result<std::vector<SampledQuery>> Pool::Sample(const SampleRequest& req, const RequestKey& rk) {
  if (req.count == 0 || req.count > options_.max_batch) {
    return Status::InvalidArgument("sample count " + std::to_string(req.count) +
                                   " is outside [1, " + std::to_string(options_.max_batch) + "]");
  }
  if (req.lease_ms < 0 || req.lease_ms > options_.max_lease_ms) {
    return Status::InvalidArgument("lease_ms " + std::to_string(req.lease_ms) + " is outside [0, " +
                                   std::to_string(options_.max_lease_ms) + "]");
  }
  const int64_t lease_ms = req.lease_ms > 0 ? req.lease_ms : config_.default_lease_ms;

  std::unique_lock<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  HEAPA_ASSIGN_OR_RETURN(const auto stored, BeginMutation(lock, rk, storage::OpKind::kSample));
  if (stored) {
    std::vector<SampledQuery> out = index::SampleFromRecord(*stored);
    if (!req.with_content) return out;
    const std::shared_ptr<storage::Committer> reader = committer_;
    lock.unlock();  // a sampled query's record never changes: read it without the lock
    HEAPA_RETURN_IF_ERROR(ReadContent(*reader, &out));
    return out;
  }
  const int64_t now = NowMs();
  storage::Batch batch;
  ix_->Begin();
  ExpireLeases(now);
  const uint64_t threshold = config_.reinsert_below > 0 ? config_.reinsert_below : req.count;
  if (ix_->pooled() < threshold && !ix_->archived().empty()) {
    Result<size_t> reinserted = ReinsertArchive();
    if (!reinserted.ok()) {
      RollbackIndex();
      return reinserted.status();
    }
  }

  index::Placement placement(ix_.get(), config_);
  index::Sampler sampler(ix_.get(), &placement, config_);
  const std::vector<index::Entry*> picks = sampler.Sample(req.count);
  std::vector<SampledQuery> out;
  out.reserve(picks.size());
  if (!picks.empty()) {
    storage::CountersRecord& counters = ix_->counters();
    const LeaseId lease = counters.next_lease++;
    for (index::Entry* e : picks) {
      SampledQuery sq;
      sq.id = e->id;
      sq.lease = lease;
      sq.lease_deadline_ms = now + lease_ms;
      sq.from = e->state;
      if (e->has_reward) sq.reward = e->reward;
      e->prev_state = e->state;
      e->lease = lease;
      e->lease_deadline_ms = sq.lease_deadline_ms;
      ++e->times_sampled;
      ix_->Attach(*e, QueryState::kInFlight);
      out.push_back(std::move(sq));
    }
    counters.total_sampled += picks.size();
  }
  if (!ix_->has_changes()) {
    HEAPA_RETURN_IF_ERROR(FinishUnchanged(lock));  // nothing changed: nothing to write
    return out;
  }
  StoreResult(rk, index::SampleToRecord(out), &batch);
  if (req.with_content) {
    HEAPA_RETURN_IF_ERROR(CommitAndReadContent(lock, &batch, rk, &out));
  } else {
    HEAPA_RETURN_IF_ERROR(CommitBatch(lock, &batch));
  }
  return out;
}

Result<std::vector<ReportOutcome>> Pool::Report(std::span<const ReportItem> items,
                                                const RequestKey& rk) {
  if (items.size() > options_.max_batch) {
    return Status::InvalidArgument("report of " + std::to_string(items.size()) +
                                   " queries exceeds max_batch " +
                                   std::to_string(options_.max_batch));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const ReportItem& it = items[i];
    const auto who = [&] {  // only for an error: a report of one costs no strings
      return "report " + std::to_string(i) + " (query " + std::to_string(it.id) + ")";
    };
    if (it.rewards.empty()) return Status::InvalidArgument(who() + ": no rewards");
    if (it.rewards.size() > options_.max_rollouts) {
      return Status::InvalidArgument(who() + ": " + std::to_string(it.rewards.size()) +
                                     " rewards exceed max_rollouts " +
                                     std::to_string(options_.max_rollouts));
    }
    for (double r : it.rewards) {
      if (!std::isfinite(r)) return Status::InvalidArgument(who() + ": reward is not finite");
    }
    if (it.lease == 0) return Status::InvalidArgument(who() + ": lease 0 is never granted");
  }

  std::unique_lock<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  HEAPA_ASSIGN_OR_RETURN(const auto stored, BeginMutation(lock, rk, storage::OpKind::kReport));
  if (stored) return index::ReportFromRecord(*stored);
  // Classify every item against the current state before changing anything.
  std::vector<ReportOutcome> outcomes(items.size());
  std::vector<uint64_t> ids(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const QueryId id = items[i].id;
    if (ix_->Find(id) == nullptr)
      return Status::NotFound("query " + std::to_string(id) + " not found");
    ids[i] = id;
  }
  // Applied in id order: the records then reach the memtable in key order, its fastest insert.
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  for (size_t pos = 1; pos < order.size(); ++pos) {
    if (ids[order[pos]] == ids[order[pos - 1]]) {
      return Status::InvalidArgument("query " + std::to_string(ids[order[pos]]) +
                                     " appears twice in one report");
    }
  }
  std::vector<storage::StatsRecord> stats(items.size());
  for (size_t i = 0; i < items.size(); ++i) HEAPA_RETURN_IF_ERROR(stats_.Get(ids[i], &stats[i]));
  for (size_t i = 0; i < items.size(); ++i) {
    const ReportItem& it = items[i];
    const index::Entry* e = ix_->Find(it.id);
    const auto& recent = stats[i].recent_leases;
    if (std::find(recent.begin(), recent.end(), it.lease) != recent.end()) {
      outcomes[i] = ReportOutcome::kDuplicate;
    } else if (it.lease < e->lease || (it.lease > e->lease && Abandoned(it.lease))) {
      // An older lease, superseded by a newer grant of the same query, or a newer one granted
      // in a future a Restore abandoned (the range may also cover leases granted to other
      // queries: never the query's own): refused for this item only, so that one slow report
      // does not sink the rest of the batch.
      outcomes[i] = ReportOutcome::kStale;
    } else if (e->lease != it.lease) {
      return Status::FailedPrecondition("query " + std::to_string(it.id) + ": lease " +
                                        std::to_string(it.lease) + " was never granted to it " +
                                        "(its latest lease is " + std::to_string(e->lease) + ")");
    } else if (e->state == QueryState::kInFlight) {
      outcomes[i] = ReportOutcome::kApplied;
    } else {
      outcomes[i] = ReportOutcome::kLate;
    }
  }

  storage::Batch batch;
  std::string value;
  ix_->Begin();
  size_t changed = 0;
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const size_t i = order[pos];
    if (pos == order.size() / 2) storage::Failpoint("report.mid_apply");
    if (outcomes[i] == ReportOutcome::kDuplicate || outcomes[i] == ReportOutcome::kStale) continue;
    const ReportItem& it = items[i];
    index::ApplyGroup(it.rewards, it.step, it.lease, &stats[i]);
    PutStats(it.id, stats[i], &value);
    ++ix_->counters().total_reports;
    ++changed;
    if (outcomes[i] == ReportOutcome::kApplied) {
      index::Entry& e = *ix_->Find(it.id);
      ix_->Detach(e);
      e.has_reward = true;
      e.reward = stats[i].last_group_mean;
      e.lease_deadline_ms = 0;
      ix_->Attach(e, QueryState::kArchived);
    }
  }
  if (changed == 0) {
    HEAPA_RETURN_IF_ERROR(FinishUnchanged(lock));
    return outcomes;
  }
  StoreResult(rk, index::ReportToRecord(items, outcomes), &batch);
  HEAPA_RETURN_IF_ERROR(CommitBatch(lock, &batch));
  return outcomes;
}

namespace {
size_t CountFromRecord(const storage::OpResultRecord& rec) { return rec.count; }
}  // namespace

Result<size_t> Pool::Reinsert(const RequestKey& rk) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  HEAPA_ASSIGN_OR_RETURN(const auto stored, BeginMutation(lock, rk, storage::OpKind::kReinsert));
  if (stored) return CountFromRecord(*stored);
  if (ix_->archived().empty()) return size_t{0};
  storage::Batch batch;
  ix_->Begin();
  Result<size_t> n = ReinsertArchive();
  if (!n.ok()) {
    RollbackIndex();
    return n.status();
  }
  StoreResult(rk, index::CountToRecord(storage::OpKind::kReinsert, *n), &batch);
  HEAPA_RETURN_IF_ERROR(CommitBatch(lock, &batch));
  return n;
}

Result<size_t> Pool::Recover(const RequestKey& rk) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  HEAPA_ASSIGN_OR_RETURN(const auto stored, BeginMutation(lock, rk, storage::OpKind::kRecover));
  if (stored) return CountFromRecord(*stored);
  if (ix_->in_flight().empty()) return size_t{0};
  ix_->Begin();
  size_t n = 0;
  while (!ix_->in_flight().empty()) {
    ReturnToPool(*ix_->in_flight().begin());
    ++n;
  }
  storage::Batch batch;
  StoreResult(rk, index::CountToRecord(storage::OpKind::kRecover, n), &batch);
  HEAPA_RETURN_IF_ERROR(CommitBatch(lock, &batch));
  return n;
}

}  // namespace heapa
