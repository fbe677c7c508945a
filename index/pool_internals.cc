// Pool internals shared by its operations: stored request results (exactly once), stats
// reads, the archive reinsertion with refresh, and the dedup of new content.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "index/op_results.h"
#include "index/placement.h"
#include "index/pool.h"
#include "storage/batch.h"
#include "storage/check.h"
#include "storage/committer.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/store.h"

namespace heapa {

Result<std::optional<storage::OpResultRecord>> Pool::LoadResult(std::unique_lock<std::mutex>& lock,
                                                                const RequestKey& rk,
                                                                storage::OpKind kind) {
  using Stored = std::optional<storage::OpResultRecord>;
  if (rk.request == 0) return Stored();
  // A retry racing a Sample that reads its texts: its outcome is decided after the read.
  while (reading_requests_.count({rk.client, rk.request}) != 0) read_done_cv_.wait(lock);
  auto tracked = last_request_.find(rk.client);
  if (tracked == last_request_.end() && last_request_.size() < tracked_limit_) {
    HEAPA_ASSIGN_OR_RETURN(const std::optional<std::string> last,
                           committer_->LastKey(storage::RequestKeyPrefix(rk.client)));
    uint64_t client = 0;
    uint64_t highest = 0;
    // A malformed key (heapa-check reports it) leaves the client untracked: always looked up.
    if (!last || storage::DecodeRequestKey(*last, &client, &highest)) {
      tracked = last_request_.emplace(rk.client, highest).first;
    }
  }
  if (tracked != last_request_.end() && rk.request > tracked->second) return Stored();
  std::string value;
  const std::string key = storage::RequestKey(rk.client, rk.request);
  uint64_t pending = 0;
  Status s = committer_->Get(key, &value, &pending);
  if (s.code() == Status::Code::kNotFound) return Stored();
  HEAPA_RETURN_IF_ERROR(s);
  // A retry racing its original: answer only once the original is durable.
  if (pending != 0) HEAPA_RETURN_IF_ERROR(WaitDurable(lock, pending));
  if (!store_) return Status::Unavailable("pool is closed");
  storage::OpResultRecord rec;
  HEAPA_RETURN_IF_ERROR(storage::AtKey(storage::DecodeOpResult(value, &rec), key));
  if (rec.kind != kind) {
    return Status::InvalidArgument("request " + std::to_string(rk.request) + " of client " +
                                   std::to_string(rk.client) +
                                   " was already used for another operation");
  }
  return Stored(std::move(rec));
}

Result<std::optional<storage::OpResultRecord>> Pool::BeginMutation(
    std::unique_lock<std::mutex>& lock, const RequestKey& rk, storage::OpKind kind) {
  const Status writable = CheckWritable();
  if (!store_) return writable;  // closed, or it could not be reopened
  HEAPA_ASSIGN_OR_RETURN(std::optional<storage::OpResultRecord> stored, LoadResult(lock, rk, kind));
  if (!stored) HEAPA_RETURN_IF_ERROR(writable);  // a stored result is answered even read-only
  return stored;
}

void Pool::StoreResult(const RequestKey& rk, const storage::OpResultRecord& rec,
                       storage::Batch* batch) {
  if (rk.request == 0) return;
  // What the client's earlier requests retired: through its highest one, when tracked; else
  // assume request - 1. A new block is retired from the first request on, so results left
  // below an earlier block (numbers skipped by an untracked client, an old request applied
  // again, a pool of an older build) go with it.
  uint64_t retired = RetiredThrough(rk.request - 1);
  if (auto tracked = last_request_.find(rk.client); tracked != last_request_.end()) {
    retired = RetiredThrough(tracked->second);
    tracked->second = std::max(tracked->second, rk.request);
  }
  std::string value;
  storage::EncodeOpResult(rec, &value);
  batch->Put(storage::RequestKey(rk.client, rk.request), value);
  if (const uint64_t through = RetiredThrough(rk.request); through > retired) {
    batch->DeleteRange(storage::RequestKey(rk.client, 1),
                       storage::RequestKey(rk.client, through + 1));
  }
}

Status Pool::ReadContent(const storage::Committer& reader, std::vector<SampledQuery>* out) {
  std::vector<std::string> keys;
  keys.reserve(out->size());
  for (const SampledQuery& sq : *out) keys.push_back(storage::QueryKey(sq.id));
  std::vector<std::string> values;
  const std::vector<Status> read = reader.MultiGet(keys, &values);
  for (size_t i = 0; i < out->size(); ++i) {
    HEAPA_RETURN_IF_ERROR(read[i]);
    HEAPA_RETURN_IF_ERROR(
        storage::AtKey(storage::DecodeQuery(values[i], &(*out)[i].query), keys[i]));
  }
  return Status::OK();
}

Result<size_t> Pool::ReinsertArchive() {
  std::vector<index::Entry*> order;
  order.reserve(ix_->archived().size());
  for (uint64_t id : ix_->archived()) {  // id order: canonical
    index::Entry* e = ix_->Find(id);
    HEAPA_CHECK(e != nullptr);  // the archive holds only ids of entries
    order.push_back(e);
  }
  // Refresh over the whole graph, applied only to the queries being reinserted (§4.4): their
  // reward and est_reward become the refreshed value.
  const index::RefreshOptions refresh = ConfiguredRefresh();
  if (refresh.mode != RefreshMode::kOff) {
    const auto refreshed = index::Refresh(
        lineage_, [this](uint64_t id) { return RefreshValue(id); },
        [this](uint64_t id) { return ChildDifficulty(id); }, refresh);
    std::string value;
    for (const auto& [id, v] : refreshed) {
      index::Entry* e = ix_->Find(id);
      if (e->state != QueryState::kArchived) continue;
      storage::StatsRecord stats;
      HEAPA_RETURN_IF_ERROR(stats_.Get(id, &stats));
      stats.has_est_reward = true;
      stats.est_reward = v;
      PutStats(id, stats, &value);
      ix_->Touch(*e);
      e->reward = v;  // safe: archived entries are ordered by id, not reward
    }
  }
  ix_->rng().Shuffle(&order);
  index::Placement placement(ix_.get(), config_);
  for (index::Entry* e : order) {
    ix_->Detach(*e);
    placement.Add(*e);
  }
  placement.EvictToCapacity();
  ix_->counters().total_reinserted += order.size();
  return order.size();
}

index::NodeValue Pool::RefreshValue(uint64_t id) const {
  const index::Entry* e = ix_->Find(id);
  if (e == nullptr || e->state == QueryState::kEvicted || e->state == QueryState::kRejected ||
      e->state == QueryState::kPending) {
    return index::NodeValue{};
  }
  return index::NodeValue{true, e->has_reward ? std::optional<double>(e->reward) : std::nullopt};
}

double Pool::ChildDifficulty(uint64_t id) const {
  auto it = child_difficulty_.find(id);
  return it == child_difficulty_.end() ? 1.0 : it->second;
}

bool Pool::Abandoned(uint64_t lease) const {
  const storage::CountersRecord& c = ix_->counters();
  return lease >= c.abandoned_leases_from && lease < c.abandoned_leases_to;
}

index::RefreshOptions Pool::ConfiguredRefresh() const {
  index::RefreshOptions o;
  o.mode = config_.refresh;
  o.weighting = config_.path_weighting;
  o.temperature = config_.path_temperature;
  o.inverse_adjust = config_.inverse_adjust;
  return o;
}

Status Pool::ResolveDuplicates(size_t n, const std::function<ContentRef(size_t)>& content,
                               std::vector<InsertResult>* results,
                               std::vector<storage::Hash128>* hashes) const {
  std::vector<std::string> keys(n);
  for (size_t i = 0; i < n; ++i) {
    const ContentRef c = content(i);
    (*hashes)[i] = storage::ContentHash(c.prompt, c.answer);
    keys[i] = storage::DedupKey((*hashes)[i]);
  }
  std::vector<std::string> values;
  const std::vector<Status> read = committer_->MultiGet(keys, &values);
  std::unordered_set<std::string> new_in_batch;
  for (size_t i = 0; i < n; ++i) {
    if (read[i].ok()) {
      uint64_t id = 0;
      HEAPA_RETURN_IF_ERROR(storage::AtKey(storage::DecodeDedup(values[i], &id), keys[i]));
      (*results)[i] = InsertResult{id, false};
    } else if (read[i].code() != Status::Code::kNotFound) {
      return read[i];
    } else {
      // The first copy in the batch is created; later copies resolve to it.
      (*results)[i] = InsertResult{0, new_in_batch.insert(keys[i]).second};
    }
  }
  return Status::OK();
}

void Pool::FinishDuplicates(std::vector<InsertResult>* results,
                            const std::vector<storage::Hash128>& hashes) {
  std::unordered_map<std::string, QueryId> created;
  for (size_t i = 0; i < results->size(); ++i) {
    if ((*results)[i].created) created.emplace(storage::DedupKey(hashes[i]), (*results)[i].id);
  }
  for (size_t i = 0; i < results->size(); ++i) {
    InsertResult& r = (*results)[i];
    if (r.id == 0) r.id = created.at(storage::DedupKey(hashes[i]));
    if (!r.created) ++ix_->counters().total_duplicates;
  }
}

}  // namespace heapa
