#include "net/convert.h"

#include "index/running_stats.h"

namespace heapa::net {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

std::vector<std::pair<std::string, std::string>> Meta(
    const flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>* v) {
  std::vector<std::pair<std::string, std::string>> out;
  if (v) {
    for (const fb::KeyValue* kv : *v) out.emplace_back(Str(kv->key()), Str(kv->value()));
  }
  return out;
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>> BuildMeta(
    Builder& b, const std::vector<std::pair<std::string, std::string>>& meta) {
  std::vector<flatbuffers::Offset<fb::KeyValue>> kvs;
  for (const auto& [k, v] : meta) {
    kvs.push_back(fb::CreateKeyValue(b, b.CreateString(k), b.CreateString(v)));
  }
  return b.CreateVector(kvs);
}

}  // namespace

fb::Code ToWireCode(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return fb::Code::OK;
    case Status::Code::kNotFound:
      return fb::Code::NOT_FOUND;
    case Status::Code::kAlreadyExists:
      return fb::Code::ALREADY_EXISTS;
    case Status::Code::kInvalidArgument:
      return fb::Code::INVALID_ARGUMENT;
    case Status::Code::kFailedPrecondition:
      return fb::Code::FAILED_PRECONDITION;
    case Status::Code::kResourceExhausted:
      return fb::Code::RESOURCE_EXHAUSTED;
    case Status::Code::kCorruption:
      return fb::Code::CORRUPTION;
    case Status::Code::kIOError:
      return fb::Code::IO_ERROR;
    case Status::Code::kUnavailable:
      return fb::Code::UNAVAILABLE;
    case Status::Code::kInternal:
      return fb::Code::INTERNAL;
    case Status::Code::kUnknownOutcome:
      return fb::Code::UNKNOWN_OUTCOME;
  }
  return fb::Code::INTERNAL;
}

Status FromWire(fb::Code code, std::string_view message) {
  const std::string msg(message);
  switch (code) {
    case fb::Code::OK:
      return Status::OK();
    case fb::Code::NOT_FOUND:
      return Status::NotFound(msg);
    case fb::Code::ALREADY_EXISTS:
      return Status::AlreadyExists(msg);
    case fb::Code::INVALID_ARGUMENT:
    case fb::Code::BAD_REQUEST:
    case fb::Code::FRAME_TOO_LARGE:
      return Status::InvalidArgument(msg);
    case fb::Code::FAILED_PRECONDITION:
    case fb::Code::UNSUPPORTED_VERSION:
    case fb::Code::UNAUTHENTICATED:
      return Status::FailedPrecondition(msg);
    case fb::Code::RESOURCE_EXHAUSTED:
    case fb::Code::TOO_MANY_CONNECTIONS:
      return Status::ResourceExhausted(msg);
    case fb::Code::CORRUPTION:
      return Status::Corruption(msg);
    case fb::Code::IO_ERROR:
      return Status::IOError(msg);
    case fb::Code::UNAVAILABLE:
      return Status::Unavailable(msg);
    case fb::Code::INTERNAL:
      return Status::Internal(msg);
    case fb::Code::UNKNOWN_OUTCOME:
      return Status::UnknownOutcome(msg);
  }
  return Status::Internal("unknown wire code " + std::to_string(static_cast<int>(code)) + ": " +
                          msg);
}

PoolConfig FromWire(const fb::PoolConfig* c) {
  PoolConfig out;
  if (!c) return out;
  out.max_size = c->max_size();
  out.low_fraction = c->low_fraction();
  out.sampling = static_cast<SamplingMode>(c->sampling());
  out.eviction = static_cast<EvictionPolicy>(c->eviction());
  out.reinsert_below = c->reinsert_below();
  out.rng_seed = c->rng_seed();
  out.default_lease_ms = c->default_lease_ms();
  out.refresh = static_cast<RefreshMode>(c->refresh());
  out.path_weighting = static_cast<PathWeighting>(c->path_weighting());
  out.path_temperature = c->path_temperature();
  out.inverse_adjust = c->inverse_adjust();
  return out;
}

flatbuffers::Offset<fb::PoolConfig> BuildConfig(Builder& b, const PoolConfig& c) {
  return fb::CreatePoolConfig(
      b, c.max_size, c.low_fraction, static_cast<fb::SamplingMode>(c.sampling),
      static_cast<fb::EvictionPolicy>(c.eviction), c.reinsert_below, c.rng_seed, c.default_lease_ms,
      static_cast<fb::RefreshMode>(c.refresh), static_cast<fb::PathWeighting>(c.path_weighting),
      c.path_temperature, c.inverse_adjust);
}

NewQuery FromWire(const fb::Query* q) {
  NewQuery out;
  out.prompt = Str(q->prompt());
  out.answer = Str(q->answer());
  out.source = Str(q->source());
  out.origin = static_cast<Origin>(q->origin());
  out.tokens = CopyElements(q->tokens());
  out.meta = Meta(q->meta());
  if (q->has_reward()) out.reward = q->reward();
  out.step = q->step();
  return out;
}

flatbuffers::Offset<fb::Query> BuildQuery(Builder& b, const NewQuery& q) {
  return fb::CreateQuery(b, b.CreateString(q.prompt), b.CreateString(q.answer),
                         b.CreateString(q.source), static_cast<fb::Origin>(q.origin),
                         b.CreateVector(q.tokens), BuildMeta(b, q.meta), q.reward.has_value(),
                         q.reward.value_or(0), q.step);
}

NewChild FromWire(const fb::Child* c) {
  NewChild out;
  out.parents = CopyElements(c->parents());
  out.prompt = Str(c->prompt());
  out.answer = Str(c->answer());
  out.source = Str(c->source());
  out.tokens = CopyElements(c->tokens());
  out.meta = Meta(c->meta());
  out.policy_difficulty = c->policy_difficulty();
  if (c->has_est_reward()) out.est_reward = c->est_reward();
  out.validated = c->validated();
  out.step = c->step();
  return out;
}

flatbuffers::Offset<fb::Child> BuildChild(Builder& b, const NewChild& c) {
  return fb::CreateChild(b, b.CreateVector(c.parents), b.CreateString(c.prompt),
                         b.CreateString(c.answer), b.CreateString(c.source),
                         b.CreateVector(c.tokens), BuildMeta(b, c.meta), c.policy_difficulty,
                         c.est_reward.has_value(), c.est_reward.value_or(0), c.validated, c.step);
}

ReportItem FromWire(const fb::ReportItem* r) {
  return ReportItem{r->id(), r->lease(), CopyElements(r->rewards()), r->step()};
}

flatbuffers::Offset<fb::ReportItem> BuildReportItem(Builder& b, const ReportItem& r) {
  return fb::CreateReportItem(b, r.id, r.lease, b.CreateVector(r.rewards), r.step);
}

QueryRecord FromWire(const fb::QueryRecord* q) {
  QueryRecord out;
  if (!q) return out;
  out.prompt = Str(q->prompt());
  out.answer = Str(q->answer());
  out.source = Str(q->source());
  out.origin = static_cast<Origin>(q->origin());
  out.tokens = CopyElements(q->tokens());
  out.meta = Meta(q->meta());
  out.created_step = q->created_step();
  out.created_ms = q->created_ms();
  out.policy_difficulty = q->policy_difficulty();
  out.parents = CopyElements(q->parents());
  return out;
}

flatbuffers::Offset<fb::QueryRecord> BuildQueryRecord(Builder& b, const QueryRecord& q) {
  return fb::CreateQueryRecord(b, b.CreateString(q.prompt), b.CreateString(q.answer),
                               b.CreateString(q.source), static_cast<fb::Origin>(q.origin),
                               b.CreateVector(q.tokens), BuildMeta(b, q.meta), q.created_step,
                               q.created_ms, q.policy_difficulty, b.CreateVector(q.parents));
}

SampledQuery FromWire(const fb::Sampled* s) {
  SampledQuery out;
  out.id = s->id();
  out.lease = s->lease();
  out.lease_deadline_ms = s->lease_deadline_ms();
  out.from = static_cast<QueryState>(s->from());
  if (s->has_reward()) out.reward = s->reward();
  out.query = FromWire(s->query());
  return out;
}

flatbuffers::Offset<fb::Sampled> BuildSampled(Builder& b, const SampledQuery& s) {
  const auto query = s.query.prompt.empty() ? 0 : BuildQueryRecord(b, s.query);
  return fb::CreateSampled(b, s.id, s.lease, s.lease_deadline_ms,
                           static_cast<fb::QueryState>(s.from), s.reward.has_value(),
                           s.reward.value_or(0), query);
}

QueryInfo FromWire(const fb::GetReply* g) {
  QueryInfo out;
  out.id = g->id();
  out.query = FromWire(g->query());
  if (const fb::State* st = g->state()) {
    out.state.state = static_cast<QueryState>(st->state());
    out.state.prev_state = static_cast<QueryState>(st->prev_state());
    out.state.has_reward = st->has_reward();
    out.state.reward = st->reward();
    out.state.seq = st->seq();
    out.state.times_sampled = st->times_sampled();
    out.state.lease = st->lease();
    out.state.lease_deadline_ms = st->lease_deadline_ms();
  }
  if (const fb::Stats* t = g->stats()) {
    out.stats.reports = t->reports();
    out.stats.rollouts = t->rollouts();
    out.stats.mean = t->mean();
    // The wire carries the variance; m2 is rebuilt from it.
    out.stats.m2 = t->rollouts() > 1 ? t->variance() * static_cast<double>(t->rollouts() - 1) : 0;
    out.stats.min = t->min();
    out.stats.max = t->max();
    out.stats.zero_variance_streak = t->zero_variance_streak();
    out.stats.last_step = t->last_step();
    out.stats.has_est_reward = t->has_est_reward();
    out.stats.est_reward = t->est_reward();
  }
  return out;
}

flatbuffers::Offset<fb::GetReply> BuildGetReply(Builder& b, const QueryInfo& info) {
  const auto query = BuildQueryRecord(b, info.query);
  const storage::StateRecord& s = info.state;
  const auto state = fb::CreateState(
      b, static_cast<fb::QueryState>(s.state), static_cast<fb::QueryState>(s.prev_state),
      s.has_reward, s.reward, s.seq, s.times_sampled, s.lease, s.lease_deadline_ms);
  const StatsRecord& t = info.stats;
  const auto stats =
      fb::CreateStats(b, t.reports, t.rollouts, t.mean, index::Variance(t), t.min, t.max,
                      t.zero_variance_streak, t.last_step, t.has_est_reward, t.est_reward);
  return fb::CreateGetReply(b, info.id, query, state, stats);
}

LineageView FromWire(const fb::LineageReply* l) {
  LineageView out;
  out.parents = CopyElements(l->parents());
  out.children = CopyElements(l->children());
  if (l->ancestors()) {
    for (const fb::LineageNode* n : *l->ancestors())
      out.ancestors.emplace_back(n->id(), n->depth());
  }
  if (l->descendants()) {
    for (const fb::LineageNode* n : *l->descendants()) {
      out.descendants.emplace_back(n->id(), n->depth());
    }
  }
  return out;
}

flatbuffers::Offset<fb::LineageReply> BuildLineageReply(Builder& b, const LineageView& v) {
  auto nodes = [&b](const std::vector<std::pair<QueryId, uint32_t>>& in) {
    std::vector<flatbuffers::Offset<fb::LineageNode>> out;
    for (const auto& [id, depth] : in) out.push_back(fb::CreateLineageNode(b, id, depth));
    return b.CreateVector(out);
  };
  const auto ancestors = nodes(v.ancestors);
  const auto descendants = nodes(v.descendants);
  return fb::CreateLineageReply(b, b.CreateVector(v.parents), b.CreateVector(v.children), ancestors,
                                descendants);
}

PoolStats FromWire(const fb::PoolStatsReply* s) {
  PoolStats out;
  out.max_size = s->max_size();
  out.pooled = s->pooled();
  out.cold = s->cold();
  out.low = s->low();
  out.high = s->high();
  out.in_flight = s->in_flight();
  out.archived = s->archived();
  out.pending = s->pending();
  out.rejected = s->rejected();
  out.evicted = s->evicted();
  if (s->has_low_max()) out.low_max = s->low_max();
  if (s->has_high_min()) out.high_min = s->high_min();
  out.counters.total_added = s->total_added();
  out.counters.total_duplicates = s->total_duplicates();
  out.counters.total_sampled = s->total_sampled();
  out.counters.total_evicted = s->total_evicted();
  out.counters.total_reports = s->total_reports();
  out.counters.total_reinserted = s->total_reinserted();
  out.counters.total_expired = s->total_expired();
  out.counters.durable_seq = s->durable_seq();
  out.index_bytes = s->index_bytes();
  out.degraded = Str(s->degraded());
  out.commit_writes = s->commit_writes();
  out.commit_batches = s->commit_batches();
  out.commit_max_group = s->commit_max_group();
  out.wal_syncs = s->wal_syncs();
  out.stats_bytes = s->stats_bytes();
  return out;
}

flatbuffers::Offset<fb::PoolStatsReply> BuildStatsReply(Builder& b, const PoolStats& s) {
  const auto degraded = b.CreateString(s.degraded);
  const storage::CountersRecord& c = s.counters;
  return fb::CreatePoolStatsReply(
      b, s.max_size, s.pooled, s.cold, s.low, s.high, s.in_flight, s.archived, s.pending,
      s.rejected, s.evicted, s.low_max.has_value(), s.low_max.value_or(0), s.high_min.has_value(),
      s.high_min.value_or(0), c.total_added, c.total_duplicates, c.total_sampled, c.total_evicted,
      c.total_reports, c.total_reinserted, c.total_expired, c.durable_seq, s.index_bytes, degraded,
      s.commit_writes, s.commit_batches, s.commit_max_group, s.wal_syncs, s.stats_bytes);
}

index::RefreshOptions FromWire(const fb::Refresh* r) {
  index::RefreshOptions o;
  o.mode = static_cast<RefreshMode>(r->mode());
  o.weighting = static_cast<PathWeighting>(r->weighting());
  o.temperature = r->temperature();
  o.inverse_adjust = r->inverse_adjust();
  return o;
}

}  // namespace heapa::net
