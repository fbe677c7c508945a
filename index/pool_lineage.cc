// Augmented children, validation, lineage queries and the refresh dry run.
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "index/op_results.h"
#include "index/placement.h"
#include "index/pool.h"
#include "index/query_checks.h"
#include "storage/batch.h"
#include "storage/committer.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/store.h"

namespace heapa {
namespace {

Status ValidateChild(const NewChild& c, size_t i) {
  const std::string who = "child " + std::to_string(i);
  if (c.parents.empty()) return Status::InvalidArgument(who + ": no parents");
  if (c.parents.size() > storage::kMaxParents) {
    return Status::InvalidArgument(who + ": more than " + std::to_string(storage::kMaxParents) +
                                   " parents");
  }
  std::unordered_set<QueryId> distinct(c.parents.begin(), c.parents.end());
  if (distinct.size() != c.parents.size()) {
    return Status::InvalidArgument(who + ": a parent is named twice");
  }
  if (!std::isfinite(c.policy_difficulty) || c.policy_difficulty <= 0) {
    return Status::InvalidArgument(who + ": policy_difficulty must be finite and positive");
  }
  if (c.est_reward && !std::isfinite(*c.est_reward)) {
    return Status::InvalidArgument(who + ": est_reward is not finite");
  }
  return index::CheckQueryFields(c.prompt, c.answer, c.source, c.tokens.size(), c.meta)
      .WithContext(who);
}

}  // namespace

Result<std::vector<InsertResult>> Pool::InsertChildren(std::span<const NewChild> children,
                                                       const RequestKey& rk) {
  if (children.size() > options_.max_batch) {
    return Status::InvalidArgument("insert of " + std::to_string(children.size()) +
                                   " children exceeds max_batch " +
                                   std::to_string(options_.max_batch));
  }
  for (size_t i = 0; i < children.size(); ++i) HEAPA_RETURN_IF_ERROR(ValidateChild(children[i], i));

  std::unique_lock<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  HEAPA_ASSIGN_OR_RETURN(const auto stored,
                         BeginMutation(lock, rk, storage::OpKind::kInsertChildren));
  if (stored) return index::InsertResultsFromRecord(*stored);
  for (size_t i = 0; i < children.size(); ++i) {
    for (QueryId p : children[i].parents) {
      if (ix_->Find(p) == nullptr) {
        return Status::NotFound("child " + std::to_string(i) + ": parent " + std::to_string(p) +
                                " not found");
      }
    }
  }
  std::vector<InsertResult> results(children.size());
  std::vector<storage::Hash128> hashes(children.size());
  HEAPA_RETURN_IF_ERROR(ResolveDuplicates(
      children.size(),
      [&](size_t i) {
        return ContentRef{children[i].prompt, children[i].answer};
      },
      &results, &hashes));

  const int64_t now = NowMs();
  storage::Batch batch;
  struct NewEdge {
    uint64_t parent, child;
    double difficulty;
  };
  std::vector<NewEdge> new_edges;
  std::string value;
  ix_->Begin();
  index::Placement placement(ix_.get(), config_);
  for (size_t i = 0; i < children.size(); ++i) {
    if (!results[i].created) continue;
    const NewChild& c = children[i];
    const index::Entry* parent = ix_->Find(c.parents[0]);
    const double est = c.est_reward ? *c.est_reward
                                    : index::EstimateChildReward(
                                          parent->has_reward ? std::optional<double>(parent->reward)
                                                             : std::nullopt,
                                          c.policy_difficulty);
    index::Entry& e = ix_->Create();
    results[i].id = e.id;
    e.has_reward = true;
    e.reward = est;
    if (c.validated) {
      placement.Add(e);
    } else {
      e.seq = ix_->TakeSeq();
      ix_->Attach(e, QueryState::kPending);
    }
    storage::QueryRecord rec;
    rec.prompt = c.prompt;
    rec.answer = c.answer;
    rec.source = c.source;
    rec.origin = Origin::kAugmented;
    rec.tokens = c.tokens;
    rec.meta = c.meta;
    rec.created_step = c.step;
    rec.created_ms = now;
    rec.policy_difficulty = c.policy_difficulty;
    rec.parents = c.parents;
    storage::EncodeQuery(rec, &value);
    batch.Put(storage::QueryKey(e.id), value);
    storage::EncodeDedup(e.id, &value);
    batch.Put(storage::DedupKey(hashes[i]), value);
    storage::StatsRecord stats;
    stats.has_est_reward = true;
    stats.est_reward = est;
    PutStats(e.id, stats, &value);
    storage::EncodeEdge(c.policy_difficulty, &value);
    for (QueryId p : c.parents) {
      batch.Put(storage::EdgeKey(p, e.id), value);
      new_edges.push_back({p, e.id, c.policy_difficulty});
    }
    ++ix_->counters().total_added;
  }
  placement.EvictToCapacity();
  FinishDuplicates(&results, hashes);
  StoreResult(rk, index::InsertResultsToRecord(storage::OpKind::kInsertChildren, results), &batch);
  // The graph is part of the index: it changes before the batch is durable, like the heaps,
  // and a failed write rebuilds it from the store.
  for (const NewEdge& edge : new_edges) {
    lineage_.AddEdge(edge.parent, edge.child);
    child_difficulty_[edge.child] = edge.difficulty;
  }
  HEAPA_RETURN_IF_ERROR(CommitBatch(lock, &batch));
  return results;
}

Status Pool::Validate(QueryId id, bool accept, std::optional<std::string> answer,
                      std::optional<double> teacher_difficulty, const RequestKey& rk) {
  if (answer && answer->size() > storage::kMaxAnswerBytes) {
    return Status::InvalidArgument("answer exceeds " + std::to_string(storage::kMaxAnswerBytes) +
                                   " bytes");
  }
  if (teacher_difficulty && !std::isfinite(*teacher_difficulty)) {
    return Status::InvalidArgument("teacher_difficulty is not finite");
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  HEAPA_ASSIGN_OR_RETURN(const auto stored, BeginMutation(lock, rk, storage::OpKind::kValidate));
  if (stored) return Status::OK();  // applied before
  index::Entry* e = ix_->Find(id);
  if (e == nullptr) return Status::NotFound("query " + std::to_string(id) + " not found");
  if (e->state != QueryState::kPending) {
    return Status::FailedPrecondition("query " + std::to_string(id) + " is " +
                                      std::string(storage::QueryStateName(e->state)) +
                                      ", not PENDING");
  }
  storage::Batch batch;
  std::string value;
  if (answer || teacher_difficulty) {
    const std::string qkey = storage::QueryKey(id);
    storage::QueryRecord rec;
    HEAPA_RETURN_IF_ERROR(committer_->Get(qkey, &value));
    HEAPA_RETURN_IF_ERROR(storage::AtKey(storage::DecodeQuery(value, &rec), qkey));
    if (answer && *answer != rec.answer) {
      const std::string old_key = storage::DedupKey(storage::ContentHash(rec.prompt, rec.answer));
      const std::string new_key = storage::DedupKey(storage::ContentHash(rec.prompt, *answer));
      Status s = committer_->Get(new_key, &value);
      if (s.ok()) {
        uint64_t other = 0;
        HEAPA_RETURN_IF_ERROR(storage::DecodeDedup(value, &other));
        return Status::AlreadyExists("query " + std::to_string(id) + " with that answer would " +
                                     "duplicate query " + std::to_string(other));
      }
      if (s.code() != Status::Code::kNotFound) return s;
      batch.Delete(old_key);
      storage::EncodeDedup(id, &value);
      batch.Put(new_key, value);
      rec.answer = *answer;
    }
    if (teacher_difficulty) {
      const std::string td = std::to_string(*teacher_difficulty);
      auto it = std::find_if(rec.meta.begin(), rec.meta.end(),
                             [](const auto& kv) { return kv.first == "teacher_difficulty"; });
      if (it != rec.meta.end()) {
        it->second = td;
      } else {
        rec.meta.emplace_back("teacher_difficulty", td);
      }
    }
    // The rewritten record must stay within the limits it is decoded with.
    HEAPA_RETURN_IF_ERROR(
        index::CheckQueryFields(rec.prompt, rec.answer, rec.source, rec.tokens.size(), rec.meta)
            .WithContext("query " + std::to_string(id) + " after validation"));
    storage::EncodeQuery(rec, &value);
    batch.Put(qkey, value);
  }
  ix_->Begin();
  ix_->Detach(*e);
  if (accept) {
    index::Placement placement(ix_.get(), config_);
    placement.Add(*e);
    placement.EvictToCapacity();
  } else {
    ix_->Attach(*e, QueryState::kRejected);
  }
  StoreResult(rk, index::CountToRecord(storage::OpKind::kValidate, accept ? 1 : 0), &batch);
  return CommitBatch(lock, &batch);
}

Result<LineageView> Pool::Lineage(QueryId id, uint32_t max_depth) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  if (ix_->Find(id) == nullptr)
    return Status::NotFound("query " + std::to_string(id) + " not found");
  LineageView view;
  view.parents = lineage_.Parents(id);
  view.children = lineage_.Children(id);
  for (const index::LineageNode& n : lineage_.Ancestors(id, max_depth)) {
    view.ancestors.emplace_back(n.id, n.depth);
  }
  for (const index::LineageNode& n : lineage_.Descendants(id, max_depth)) {
    view.descendants.emplace_back(n.id, n.depth);
  }
  return view;
}

Result<std::vector<std::pair<QueryId, double>>> Pool::RefreshDryRun(
    const std::optional<index::RefreshOptions>& options) const {
  const index::RefreshOptions o = options ? *options : ConfiguredRefresh();
  if (!(o.temperature > 0) || !std::isfinite(o.temperature)) {
    return Status::InvalidArgument("refresh temperature must be a finite positive number");
  }
  if (o.mode != RefreshMode::kOff && o.mode != RefreshMode::kChild &&
      o.mode != RefreshMode::kPath) {
    return Status::InvalidArgument("unknown refresh mode");
  }
  if (o.weighting != PathWeighting::kSoftmax && o.weighting != PathWeighting::kLinear) {
    return Status::InvalidArgument("unknown path weighting");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!store_) return Status::Unavailable("pool is closed");
  return index::Refresh(
      lineage_, [this](uint64_t id) { return RefreshValue(id); },
      [this](uint64_t id) { return ChildDifficulty(id); }, o);
}

}  // namespace heapa
