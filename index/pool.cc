// Pool mutations: the single write path and the operations built on it.
#include "index/pool.h"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "index/placement.h"
#include "index/running_stats.h"
#include "index/sampler.h"
#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/store.h"

namespace heapa {
namespace {

std::string Item(size_t i) { return "query " + std::to_string(i); }

Status ValidateNewQuery(const NewQuery& q, size_t i) {
  if (q.prompt.empty()) return Status::InvalidArgument(Item(i) + ": empty prompt");
  if (q.prompt.size() > storage::kMaxPromptBytes) {
    return Status::InvalidArgument(Item(i) + ": prompt of " + std::to_string(q.prompt.size()) +
                                   " bytes exceeds " + std::to_string(storage::kMaxPromptBytes));
  }
  if (q.answer.size() > storage::kMaxAnswerBytes) {
    return Status::InvalidArgument(Item(i) + ": answer of " + std::to_string(q.answer.size()) +
                                   " bytes exceeds " + std::to_string(storage::kMaxAnswerBytes));
  }
  if (q.source.size() > storage::kMaxSourceBytes) {
    return Status::InvalidArgument(Item(i) + ": source exceeds " +
                                   std::to_string(storage::kMaxSourceBytes) + " bytes");
  }
  if (q.tokens.size() > storage::kMaxTokens) {
    return Status::InvalidArgument(Item(i) + ": " + std::to_string(q.tokens.size()) +
                                   " tokens exceed " + std::to_string(storage::kMaxTokens));
  }
  if (q.meta.size() > storage::kMaxMetaEntries) {
    return Status::InvalidArgument(Item(i) + ": more than " +
                                   std::to_string(storage::kMaxMetaEntries) + " meta entries");
  }
  size_t meta_bytes = 0;
  for (const auto& [k, v] : q.meta) meta_bytes += k.size() + v.size();
  if (meta_bytes > storage::kMaxMetaBytes) {
    return Status::InvalidArgument(Item(i) + ": meta exceeds " +
                                   std::to_string(storage::kMaxMetaBytes) + " bytes");
  }
  if (q.origin != Origin::kSeed && q.origin != Origin::kAugmented) {
    return Status::InvalidArgument(Item(i) + ": unknown origin");
  }
  if (q.reward && !std::isfinite(*q.reward)) {
    return Status::InvalidArgument(Item(i) + ": reward is not finite");
  }
  return Status::OK();
}

}  // namespace

Status Pool::CheckWritable() const {
  if (!store_) return Status::Unavailable("pool is closed");
  if (!degraded_.ok()) {
    return Status::Unavailable("pool is read-only after a failed write (" + degraded_.ToString() +
                               "); reopen it to recover");
  }
  return Status::OK();
}

Status Pool::CommitBatch(storage::Batch* batch) {
  std::string value;
  for (uint64_t id : ix_.Touched()) {
    storage::EncodeState(ix_.Find(id)->ToRecord(), &value);
    batch->Put(storage::StateKey(id), value);
  }
  storage::CountersRecord& counters = ix_.counters();
  ++counters.durable_seq;
  counters.rng_state = ix_.rng().state();
  counters.rng_inc = ix_.rng().inc();
  storage::EncodeCounters(counters, &value);
  batch->Put(storage::MetaKey("counters"), value);

  Status s = store_->Write(batch);
  if (!s.ok()) {
    // The outcome of a failed write is unknown: undo the index so that it never runs ahead
    // of what is known durable, and stop writing until a reopen rebuilds from disk.
    ix_.Rollback();
    degraded_ = s;
    return s;
  }
  ix_.Commit();
  return Status::OK();
}

void Pool::ReturnToPool(index::Entry& e) {
  index::Placement placement(&ix_, config_);
  ix_.Detach(e);
  e.lease_deadline_ms = 0;
  placement.Add(e, /*keep_cold_seq=*/!e.has_reward);
}

size_t Pool::ExpireLeases(int64_t now_ms) {
  size_t n = 0;
  auto& in_flight = ix_.in_flight();
  while (!in_flight.empty() && in_flight.begin()->lease_deadline_ms <= now_ms) {
    ReturnToPool(*in_flight.begin());
    ++n;
  }
  ix_.counters().total_expired += n;
  return n;
}

size_t Pool::ReinsertArchive() {
  std::vector<index::Entry*> order;
  order.reserve(ix_.archived().size());
  for (index::Entry& e : ix_.archived()) order.push_back(&e);  // id order: canonical
  ix_.rng().Shuffle(&order);
  index::Placement placement(&ix_, config_);
  for (index::Entry* e : order) {
    ix_.Detach(*e);
    placement.Add(*e);
  }
  placement.EvictToCapacity();
  ix_.counters().total_reinserted += order.size();
  return order.size();
}

Result<std::vector<InsertResult>> Pool::Insert(std::span<const NewQuery> queries) {
  if (queries.size() > options_.max_batch) {
    return Status::InvalidArgument("insert of " + std::to_string(queries.size()) +
                                   " queries exceeds max_batch " +
                                   std::to_string(options_.max_batch));
  }
  for (size_t i = 0; i < queries.size(); ++i) HEAPA_RETURN_IF_ERROR(ValidateNewQuery(queries[i], i));

  std::lock_guard<std::mutex> lock(mu_);
  HEAPA_RETURN_IF_ERROR(CheckWritable());
  // Dedup before any change: against the store, and within this batch.
  std::vector<InsertResult> results(queries.size());
  std::vector<storage::Hash128> hashes(queries.size());
  std::unordered_map<std::string, size_t> first_in_batch;
  std::string value;
  for (size_t i = 0; i < queries.size(); ++i) {
    hashes[i] = storage::ContentHash(queries[i].prompt, queries[i].answer);
    const std::string key = storage::DedupKey(hashes[i]);
    Status s = store_->Get(key, &value);
    if (s.ok()) {
      uint64_t id = 0;
      HEAPA_RETURN_IF_ERROR(storage::DecodeDedup(value, &id).WithContext(storage::DescribeKey(key)));
      results[i] = InsertResult{id, false};
    } else if (s.code() != Status::Code::kNotFound) {
      return s;
    } else if (!first_in_batch.emplace(key, i).second) {
      results[i].created = false;  // resolved to the first copy's id below
    } else {
      results[i].created = true;
    }
  }

  const int64_t now = NowMs();
  storage::Batch batch;
  ix_.Begin();
  index::Placement placement(&ix_, config_);
  storage::CountersRecord& counters = ix_.counters();
  for (size_t i = 0; i < queries.size(); ++i) {
    if (!results[i].created) continue;
    const NewQuery& q = queries[i];
    index::Entry& e = ix_.Create();
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
    storage::EncodeDedup(e.id, &value);
    batch.Put(storage::DedupKey(hashes[i]), value);
    ++counters.total_added;
  }
  placement.EvictToCapacity();
  for (size_t i = 0; i < queries.size(); ++i) {
    if (results[i].id != 0) continue;
    results[i].id = results[first_in_batch.at(storage::DedupKey(hashes[i]))].id;
  }
  for (const InsertResult& r : results) counters.total_duplicates += r.created ? 0 : 1;
  HEAPA_RETURN_IF_ERROR(CommitBatch(&batch));
  return results;
}

Result<std::vector<SampledQuery>> Pool::Sample(const SampleRequest& req) {
  if (req.count == 0 || req.count > options_.max_batch) {
    return Status::InvalidArgument("sample count " + std::to_string(req.count) +
                                   " is outside [1, " + std::to_string(options_.max_batch) + "]");
  }
  if (req.lease_ms < 0 || req.lease_ms > options_.max_lease_ms) {
    return Status::InvalidArgument("lease_ms " + std::to_string(req.lease_ms) +
                                   " is outside [0, " + std::to_string(options_.max_lease_ms) +
                                   "]");
  }
  const int64_t lease_ms = req.lease_ms > 0 ? req.lease_ms : config_.default_lease_ms;

  std::lock_guard<std::mutex> lock(mu_);
  HEAPA_RETURN_IF_ERROR(CheckWritable());
  const int64_t now = NowMs();
  ix_.Begin();
  ExpireLeases(now);
  const uint64_t threshold = config_.reinsert_below > 0 ? config_.reinsert_below : req.count;
  if (ix_.pooled() < threshold && !ix_.archived().empty()) ReinsertArchive();

  index::Placement placement(&ix_, config_);
  index::Sampler sampler(&ix_, &placement, config_);
  const std::vector<index::Entry*> picks = sampler.Sample(req.count);
  std::vector<SampledQuery> out;
  out.reserve(picks.size());
  if (!picks.empty()) {
    storage::CountersRecord& counters = ix_.counters();
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
      ix_.Attach(*e, QueryState::kInFlight);
      out.push_back(std::move(sq));
    }
    counters.total_sampled += picks.size();
  }
  if (ix_.Touched().empty()) {
    ix_.Rollback();  // nothing changed: nothing to write
    return out;
  }
  storage::Batch batch;
  HEAPA_RETURN_IF_ERROR(CommitBatch(&batch));
  if (req.with_content) {
    std::string value;
    for (SampledQuery& sq : out) {
      const std::string key = storage::QueryKey(sq.id);
      HEAPA_RETURN_IF_ERROR(store_->Get(key, &value));
      HEAPA_RETURN_IF_ERROR(storage::DecodeQuery(value, &sq.query).WithContext(storage::DescribeKey(key)));
    }
  }
  return out;
}

Result<std::vector<ReportOutcome>> Pool::Report(std::span<const ReportItem> items) {
  if (items.size() > options_.max_batch) {
    return Status::InvalidArgument("report of " + std::to_string(items.size()) +
                                   " queries exceeds max_batch " +
                                   std::to_string(options_.max_batch));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const ReportItem& it = items[i];
    const std::string who = "report " + std::to_string(i) + " (query " + std::to_string(it.id) + ")";
    if (it.rewards.empty()) return Status::InvalidArgument(who + ": no rewards");
    if (it.rewards.size() > options_.max_rollouts) {
      return Status::InvalidArgument(who + ": " + std::to_string(it.rewards.size()) +
                                     " rewards exceed max_rollouts " +
                                     std::to_string(options_.max_rollouts));
    }
    for (double r : it.rewards) {
      if (!std::isfinite(r)) return Status::InvalidArgument(who + ": reward is not finite");
    }
    if (it.lease == 0) return Status::InvalidArgument(who + ": lease 0 is never granted");
  }

  std::lock_guard<std::mutex> lock(mu_);
  HEAPA_RETURN_IF_ERROR(CheckWritable());
  // Classify every item against the current state before changing anything.
  std::vector<ReportOutcome> outcomes(items.size());
  std::vector<storage::StatsRecord> stats(items.size());
  std::unordered_set<QueryId> seen;
  std::string value;
  for (size_t i = 0; i < items.size(); ++i) {
    const ReportItem& it = items[i];
    const index::Entry* e = ix_.Find(it.id);
    if (e == nullptr) return Status::NotFound("query " + std::to_string(it.id) + " not found");
    if (!seen.insert(it.id).second) {
      return Status::InvalidArgument("query " + std::to_string(it.id) +
                                     " appears twice in one report");
    }
    const std::string key = storage::StatsKey(it.id);
    Status s = store_->Get(key, &value);
    if (s.ok()) {
      HEAPA_RETURN_IF_ERROR(storage::DecodeStats(value, &stats[i]).WithContext(storage::DescribeKey(key)));
    } else if (s.code() != Status::Code::kNotFound) {
      return s;
    }
    if (stats[i].last_report_lease == it.lease) {
      outcomes[i] = ReportOutcome::kDuplicate;
    } else if (e->lease != it.lease) {
      return Status::FailedPrecondition("query " + std::to_string(it.id) + ": lease " +
                                        std::to_string(it.lease) + " is not its current lease " +
                                        std::to_string(e->lease));
    } else if (e->state == QueryState::kInFlight) {
      outcomes[i] = ReportOutcome::kApplied;
    } else {
      outcomes[i] = ReportOutcome::kLate;
    }
  }

  storage::Batch batch;
  ix_.Begin();
  size_t changed = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (outcomes[i] == ReportOutcome::kDuplicate) continue;
    const ReportItem& it = items[i];
    index::ApplyGroup(it.rewards, it.step, it.lease, &stats[i]);
    storage::EncodeStats(stats[i], &value);
    batch.Put(storage::StatsKey(it.id), value);
    ++ix_.counters().total_reports;
    ++changed;
    if (outcomes[i] == ReportOutcome::kApplied) {
      index::Entry& e = *ix_.Find(it.id);
      ix_.Detach(e);
      e.has_reward = true;
      e.reward = stats[i].last_group_mean;
      e.lease_deadline_ms = 0;
      ix_.Attach(e, QueryState::kArchived);
    }
  }
  if (changed == 0) {
    ix_.Rollback();
    return outcomes;
  }
  HEAPA_RETURN_IF_ERROR(CommitBatch(&batch));
  return outcomes;
}

Result<size_t> Pool::Reinsert() {
  std::lock_guard<std::mutex> lock(mu_);
  HEAPA_RETURN_IF_ERROR(CheckWritable());
  if (ix_.archived().empty()) return size_t{0};
  ix_.Begin();
  const size_t n = ReinsertArchive();
  storage::Batch batch;
  HEAPA_RETURN_IF_ERROR(CommitBatch(&batch));
  return n;
}

Result<size_t> Pool::Recover() {
  std::lock_guard<std::mutex> lock(mu_);
  HEAPA_RETURN_IF_ERROR(CheckWritable());
  if (ix_.in_flight().empty()) return size_t{0};
  ix_.Begin();
  size_t n = 0;
  while (!ix_.in_flight().empty()) {
    ReturnToPool(*ix_.in_flight().begin());
    ++n;
  }
  storage::Batch batch;
  HEAPA_RETURN_IF_ERROR(CommitBatch(&batch));
  return n;
}

}  // namespace heapa
