// The FlatBuffer records: query, state, config, counters (stats: stats_record.cc).
#include "storage/records.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include "records_generated.h"
#include "storage/record_envelope.h"

namespace heapa::storage {

std::string_view QueryStateName(QueryState state) {
  switch (state) {
    case QueryState::kCold:
      return "COLD";
    case QueryState::kLow:
      return "LOW";
    case QueryState::kHigh:
      return "HIGH";
    case QueryState::kInFlight:
      return "IN_FLIGHT";
    case QueryState::kArchived:
      return "ARCHIVED";
    case QueryState::kPending:
      return "PENDING";
    case QueryState::kRejected:
      return "REJECTED";
    case QueryState::kEvicted:
      return "EVICTED";
  }
  return "UNKNOWN";
}

void EncodeQuery(const QueryRecord& rec, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(256 + rec.prompt.size() + rec.answer.size());
  auto prompt = fbb.CreateString(rec.prompt);
  auto answer = fbb.CreateString(rec.answer);
  auto source = fbb.CreateString(rec.source);
  auto tokens = fbb.CreateVector(rec.tokens);
  std::vector<flatbuffers::Offset<fb::KeyValue>> meta;
  meta.reserve(rec.meta.size());
  for (const auto& [k, v] : rec.meta) {
    meta.push_back(fb::CreateKeyValue(fbb, fbb.CreateString(k), fbb.CreateString(v)));
  }
  auto meta_vec = fbb.CreateVector(meta);
  auto parents = fbb.CreateVector(rec.parents);
  fb::QueryBuilder b(fbb);
  b.add_prompt(prompt);
  b.add_answer(answer);
  b.add_source(source);
  b.add_origin(static_cast<uint8_t>(rec.origin));
  b.add_tokens(tokens);
  b.add_meta(meta_vec);
  b.add_created_step(rec.created_step);
  b.add_created_ms(rec.created_ms);
  b.add_policy_difficulty(rec.policy_difficulty);
  b.add_parents(parents);
  fbb.Finish(b.Finish());
  SealBuilder(Kind::kQuery, fbb, out);
}

Status DecodeQuery(std::string_view value, QueryRecord* rec) {
  const fb::Query* q = nullptr;
  AlignedPayload scratch;
  Status s = OpenTable(Kind::kQuery, value, &scratch, &q);
  if (!s.ok()) return s;
  rec->prompt = View(q->prompt());
  rec->answer = View(q->answer());
  rec->source = View(q->source());
  if (rec->prompt.empty()) return Status::Corruption("query has an empty prompt");
  if (rec->prompt.size() > kMaxPromptBytes || rec->answer.size() > kMaxAnswerBytes ||
      rec->source.size() > kMaxSourceBytes) {
    return Status::Corruption("query field exceeds its size limit");
  }
  if (q->origin() > static_cast<uint8_t>(Origin::kAugmented)) {
    return Status::Corruption("query origin " + std::to_string(q->origin()) + " out of range");
  }
  rec->origin = static_cast<Origin>(q->origin());
  if (q->tokens() && q->tokens()->size() > kMaxTokens) {
    return Status::Corruption("query has too many tokens");
  }
  if (!CopyVector(q->tokens(), &rec->tokens)) return Status::Corruption("misaligned tokens");
  rec->meta.clear();
  if (q->meta()) {
    if (q->meta()->size() > kMaxMetaEntries)
      return Status::Corruption("query has too many meta entries");
    size_t meta_bytes = 0;
    for (const fb::KeyValue* kv : *q->meta()) {
      rec->meta.emplace_back(std::string(View(kv->key())), std::string(View(kv->value())));
      meta_bytes += rec->meta.back().first.size() + rec->meta.back().second.size();
    }
    if (meta_bytes > kMaxMetaBytes) return Status::Corruption("query meta exceeds its size limit");
  }
  rec->created_step = q->created_step();
  rec->created_ms = q->created_ms();
  rec->policy_difficulty = q->policy_difficulty();
  if (!Finite(rec->policy_difficulty) || rec->policy_difficulty <= 0) {
    return Status::Corruption("query policy_difficulty is not a finite positive number");
  }
  if (q->parents() && q->parents()->size() > kMaxParents) {
    return Status::Corruption("query has too many parents");
  }
  if (!CopyVector(q->parents(), &rec->parents)) return Status::Corruption("misaligned parents");
  return Status::OK();
}

void EncodeState(const StateRecord& rec, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(128);
  fb::StateBuilder b(fbb);
  b.add_state(static_cast<uint8_t>(rec.state));
  b.add_prev_state(static_cast<uint8_t>(rec.prev_state));
  b.add_has_reward(rec.has_reward);
  b.add_reward(rec.reward);
  b.add_seq(rec.seq);
  b.add_times_sampled(rec.times_sampled);
  b.add_lease(rec.lease);
  b.add_lease_deadline_ms(rec.lease_deadline_ms);
  fbb.Finish(b.Finish());
  SealBuilder(Kind::kState, fbb, out);
}

Status ValidateState(const StateRecord& rec) {
  if (static_cast<uint8_t>(rec.state) > kMaxQueryState ||
      static_cast<uint8_t>(rec.prev_state) > kMaxQueryState) {
    return Status::Corruption("state " + std::to_string(static_cast<int>(rec.state)) + "/" +
                              std::to_string(static_cast<int>(rec.prev_state)) + " out of range");
  }
  if (!Finite(rec.reward)) {  // also without has_reward: a record holds no NaN or infinity
    return Status::Corruption("state holds a non-finite reward");
  }
  if ((rec.state == QueryState::kLow || rec.state == QueryState::kHigh) && !rec.has_reward) {
    return Status::Corruption(std::string("state ") + std::string(QueryStateName(rec.state)) +
                              " without a reward");
  }
  if (rec.state == QueryState::kInFlight && rec.lease == 0) {
    return Status::Corruption("IN_FLIGHT state without a lease");
  }
  return Status::OK();
}

Status DecodeState(std::string_view value, StateRecord* rec) {
  const fb::State* st = nullptr;
  AlignedPayload scratch;
  Status s = OpenTable(Kind::kState, value, &scratch, &st);
  if (!s.ok()) return s;
  rec->state = static_cast<QueryState>(st->state());
  rec->prev_state = static_cast<QueryState>(st->prev_state());
  rec->has_reward = st->has_reward();
  rec->reward = st->reward();
  rec->seq = st->seq();
  rec->times_sampled = st->times_sampled();
  rec->lease = st->lease();
  rec->lease_deadline_ms = st->lease_deadline_ms();
  return ValidateState(*rec);
}

void EncodeConfig(const ConfigRecord& rec, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(128);
  fb::ConfigBuilder b(fbb);
  b.add_max_size(rec.max_size);
  b.add_low_fraction(rec.low_fraction);
  b.add_sampling(static_cast<uint8_t>(rec.sampling));
  b.add_eviction(static_cast<uint8_t>(rec.eviction));
  b.add_reinsert_below(rec.reinsert_below);
  b.add_rng_seed(rec.rng_seed);
  b.add_default_lease_ms(rec.default_lease_ms);
  b.add_refresh(static_cast<uint8_t>(rec.refresh));
  b.add_path_weighting(static_cast<uint8_t>(rec.path_weighting));
  b.add_path_temperature(rec.path_temperature);
  b.add_inverse_adjust(rec.inverse_adjust);
  fbb.Finish(b.Finish());
  SealBuilder(Kind::kConfig, fbb, out);
}

Status DecodeConfig(std::string_view value, ConfigRecord* rec) {
  const fb::Config* c = nullptr;
  AlignedPayload scratch;
  Status s = OpenTable(Kind::kConfig, value, &scratch, &c);
  if (!s.ok()) return s;
  if (c->sampling() > static_cast<uint8_t>(SamplingMode::kMixed) ||
      c->eviction() > static_cast<uint8_t>(EvictionPolicy::kExtremes) ||
      c->refresh() > static_cast<uint8_t>(RefreshMode::kPath) ||
      c->path_weighting() > static_cast<uint8_t>(PathWeighting::kLinear)) {
    return Status::Corruption("config enum out of range");
  }
  rec->max_size = c->max_size();
  rec->low_fraction = c->low_fraction();
  rec->sampling = static_cast<SamplingMode>(c->sampling());
  rec->eviction = static_cast<EvictionPolicy>(c->eviction());
  rec->reinsert_below = c->reinsert_below();
  rec->rng_seed = c->rng_seed();
  rec->default_lease_ms = c->default_lease_ms();
  rec->refresh = static_cast<RefreshMode>(c->refresh());
  rec->path_weighting = static_cast<PathWeighting>(c->path_weighting());
  rec->path_temperature = c->path_temperature();
  rec->inverse_adjust = c->inverse_adjust();
  if (!(rec->path_temperature > 0) || !Finite(rec->path_temperature)) {
    return Status::Corruption("config path_temperature is not a finite positive number");
  }
  if (rec->max_size == 0 || !(rec->low_fraction >= 0.05 && rec->low_fraction <= 0.95) ||
      rec->default_lease_ms <= 0) {
    return Status::Corruption("config value out of range");
  }
  return Status::OK();
}

void EncodeCounters(const CountersRecord& rec, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(192);
  fb::CountersBuilder b(fbb);
  b.add_next_id(rec.next_id);
  b.add_next_seq(rec.next_seq);
  b.add_next_lease(rec.next_lease);
  b.add_durable_seq(rec.durable_seq);
  b.add_total_added(rec.total_added);
  b.add_total_duplicates(rec.total_duplicates);
  b.add_total_sampled(rec.total_sampled);
  b.add_total_evicted(rec.total_evicted);
  b.add_total_reports(rec.total_reports);
  b.add_total_reinserted(rec.total_reinserted);
  b.add_total_expired(rec.total_expired);
  b.add_rng_state(rec.rng_state);
  b.add_rng_inc(rec.rng_inc);
  b.add_abandoned_leases_from(rec.abandoned_leases_from);
  b.add_abandoned_leases_to(rec.abandoned_leases_to);
  fbb.Finish(b.Finish());
  SealBuilder(Kind::kCounters, fbb, out);
}

Status DecodeCounters(std::string_view value, CountersRecord* rec) {
  const fb::Counters* c = nullptr;
  AlignedPayload scratch;
  Status s = OpenTable(Kind::kCounters, value, &scratch, &c);
  if (!s.ok()) return s;
  rec->next_id = c->next_id();
  rec->next_seq = c->next_seq();
  rec->next_lease = c->next_lease();
  rec->durable_seq = c->durable_seq();
  rec->total_added = c->total_added();
  rec->total_duplicates = c->total_duplicates();
  rec->total_sampled = c->total_sampled();
  rec->total_evicted = c->total_evicted();
  rec->total_reports = c->total_reports();
  rec->total_reinserted = c->total_reinserted();
  rec->total_expired = c->total_expired();
  rec->rng_state = c->rng_state();
  rec->rng_inc = c->rng_inc();
  rec->abandoned_leases_from = c->abandoned_leases_from();
  rec->abandoned_leases_to = c->abandoned_leases_to();
  if (rec->next_id == 0 || rec->next_seq == 0 || rec->next_lease == 0 || (rec->rng_inc & 1) == 0) {
    return Status::Corruption("counters out of range");
  }
  if (rec->abandoned_leases_from > rec->abandoned_leases_to ||
      rec->abandoned_leases_to > rec->next_lease) {
    return Status::Corruption("abandoned lease range out of order");
  }
  return Status::OK();
}

}  // namespace heapa::storage
