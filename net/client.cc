#include "net/client.h"

#include <chrono>
#include <random>

#include "net/client_impl.h"
#include "net/convert.h"

namespace heapa::net {

// ---- Client

Client::Client(const ClientOptions& options, std::unique_ptr<Impl> impl)
    : options_(options), impl_(std::move(impl)) {}
Client::~Client() = default;

uint64_t Client::durable_seq(const std::string& pool) const { return impl_->DurableSeq(pool); }

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  ClientOptions o = options;
  if (o.client_id == 0) {
    std::random_device rd;
    o.client_id = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                  static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    if (o.client_id == 0) o.client_id = 1;
  }
  std::unique_ptr<Client> c(new Client(o, std::make_unique<Impl>(o)));
  HEAPA_RETURN_IF_ERROR(c->impl_->Connect(&c->server_));
  return c;
}

void Client::TEST_Disconnect() { impl_->Disconnect(); }

Result<std::string> Client::TEST_RawCall(std::string_view frame_body) {
  ResponseBuffer out;
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  HEAPA_RETURN_IF_ERROR(impl_->Exchange(std::string(frame_body), deadline, &out));
  return std::string(reinterpret_cast<const char*>(out.words.data()),
                     out.words.size() * sizeof(uint64_t));
}

namespace {

// What a request is: a read (no request id), a pool mutation or an admin mutation (each with
// a request id of its own numbering).
enum class Kind { kRead, kMutation, kAdmin };

// The request helpers: build a body, call, and hand back the parsed response.
template <typename BodyFn>
Status Do(Client::Impl* impl, ServerInfo* info, const std::string& pool, fb::RequestBody type,
          Kind kind, BodyFn body_fn, ResponseBuffer* out) {
  Builder b(1024);
  const auto body = body_fn(b);
  // Mutations carry a fresh request id; resends reuse it (the daemon then replays the result).
  const uint64_t rid = kind == Kind::kMutation ? impl->NextRequestId()
                       : kind == Kind::kAdmin  ? impl->NextAdminRequestId()
                                               : 0;
  return impl->Call(Client::Impl::Finish(b, rid, pool, type, body.Union()), rid != 0,
                    kind == Kind::kAdmin, info, out, pool);
}

// Pipelined: one request per body_fn(b, i), i < n, sent back to back. Mutations carry a fresh
// request id each; reads carry none. The first request the daemon refused fails the call with
// its error, named by `what(i)`.
template <typename BodyFn, typename WhatFn>
Status DoMany(Client::Impl* impl, ServerInfo* info, const std::string& pool, fb::RequestBody type,
              bool mutating, size_t n, BodyFn body_fn, WhatFn what,
              std::vector<ResponseBuffer>* responses) {
  std::vector<OutgoingRequest> requests;
  requests.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Builder b(256);
    const auto body = body_fn(b, i);
    const uint64_t rid = mutating ? impl->NextRequestId() : 0;
    requests.push_back(
        OutgoingRequest{rid, Client::Impl::Finish(b, rid, pool, type, body.Union())});
  }
  std::vector<Status> statuses;
  HEAPA_RETURN_IF_ERROR(impl->CallMany(requests, info, pool, responses, &statuses));
  for (size_t i = 0; i < n; ++i) HEAPA_RETURN_IF_ERROR(statuses[i].WithContext(what(i)));
  return Status::OK();
}

}  // namespace

#define HEAPA_CALL(pool, TYPE, kind, body_fn) \
  ResponseBuffer rb;                          \
  HEAPA_RETURN_IF_ERROR(                      \
      Do(impl_.get(), &server_, pool, fb::RequestBody::TYPE, Kind::kind, body_fn, &rb))

Result<std::vector<std::string>> Client::ListPools() {
  HEAPA_CALL("", PoolList, kRead, [](Builder& b) { return fb::CreatePoolList(b); });
  std::vector<std::string> out;
  const fb::PoolListReply* r = rb.response->body_as_PoolListReply();
  if (r && r->names()) {
    for (const auto* n : *r->names()) out.push_back(n->str());
  }
  return out;
}

Status Client::CreatePool(const std::string& pool, const PoolConfig& config) {
  HEAPA_CALL("", PoolCreate, kAdmin, [&](Builder& b) {
    return fb::CreatePoolCreate(b, b.CreateString(pool), BuildConfig(b, config));
  });
  return Status::OK();
}

Status Client::DropPool(const std::string& pool) {
  HEAPA_CALL("", PoolDrop, kAdmin,
             [&](Builder& b) { return fb::CreatePoolDrop(b, b.CreateString(pool)); });
  return Status::OK();
}

Result<PoolConfig> Client::GetConfig(const std::string& pool) {
  HEAPA_CALL(pool, GetConfig, kRead, [](Builder& b) { return fb::CreateGetConfig(b); });
  const fb::GetConfigReply* r = rb.response->body_as_GetConfigReply();
  if (!r) return Status::Internal("GetConfig answered without a body");
  return FromWire(r->config());
}

namespace {
std::vector<InsertResult> InsertResults(const ResponseBuffer& rb) {
  std::vector<InsertResult> out;
  const fb::InsertReply* r = rb.response->body_as_InsertReply();
  if (r && r->results()) {
    for (flatbuffers::uoffset_t i = 0; i < r->results()->size(); ++i) {
      const fb::InsertResult x = StructAt(r->results(), i);
      out.push_back({x.id(), x.created()});
    }
  }
  return out;
}
}  // namespace

Result<std::vector<InsertResult>> Client::Insert(const std::string& pool,
                                                 std::span<const NewQuery> queries) {
  HEAPA_CALL(pool, Insert, kMutation, [&](Builder& b) {
    std::vector<flatbuffers::Offset<fb::Query>> qs;
    for (const NewQuery& q : queries) qs.push_back(BuildQuery(b, q));
    return fb::CreateInsert(b, b.CreateVector(qs));
  });
  return InsertResults(rb);
}

Result<std::vector<std::vector<InsertResult>>> Client::InsertMany(
    const std::string& pool, std::span<const std::vector<NewQuery>> batches) {
  std::vector<ResponseBuffer> responses;
  HEAPA_RETURN_IF_ERROR(DoMany(
      impl_.get(), &server_, pool, fb::RequestBody::Insert, /*mutating=*/true, batches.size(),
      [&](Builder& b, size_t i) {
        std::vector<flatbuffers::Offset<fb::Query>> qs;
        for (const NewQuery& q : batches[i]) qs.push_back(BuildQuery(b, q));
        return fb::CreateInsert(b, b.CreateVector(qs));
      },
      [](size_t i) { return "insert " + std::to_string(i); }, &responses));
  std::vector<std::vector<InsertResult>> out;
  out.reserve(batches.size());
  for (const ResponseBuffer& rb : responses) out.push_back(InsertResults(rb));
  return out;
}

Result<std::vector<InsertResult>> Client::InsertChildren(const std::string& pool,
                                                         std::span<const NewChild> children) {
  HEAPA_CALL(pool, InsertChildren, kMutation, [&](Builder& b) {
    std::vector<flatbuffers::Offset<fb::Child>> cs;
    for (const NewChild& c : children) cs.push_back(BuildChild(b, c));
    return fb::CreateInsertChildren(b, b.CreateVector(cs));
  });
  return InsertResults(rb);
}

Status Client::Validate(const std::string& pool, QueryId id, bool accept,
                        std::optional<std::string> answer,
                        std::optional<double> teacher_difficulty) {
  HEAPA_CALL(pool, Validate, kMutation, [&](Builder& b) {
    const auto a = answer ? b.CreateString(*answer) : 0;
    return fb::CreateValidate(b, id, accept, a, teacher_difficulty.has_value(),
                              teacher_difficulty.value_or(0));
  });
  return Status::OK();
}

Result<std::vector<SampledQuery>> Client::Sample(const std::string& pool,
                                                 const SampleRequest& req) {
  HEAPA_CALL(pool, Sample, kMutation, [&](Builder& b) {
    return fb::CreateSample(b, req.count, req.lease_ms, req.with_content);
  });
  std::vector<SampledQuery> out;
  const fb::SampleReply* r = rb.response->body_as_SampleReply();
  if (r && r->items()) {
    for (const fb::Sampled* s : *r->items()) out.push_back(FromWire(s));
  }
  return out;
}

Result<std::vector<ReportOutcome>> Client::Report(const std::string& pool,
                                                  std::span<const ReportItem> items) {
  HEAPA_CALL(pool, Report, kMutation, [&](Builder& b) {
    std::vector<flatbuffers::Offset<fb::ReportItem>> is;
    for (const ReportItem& it : items) is.push_back(BuildReportItem(b, it));
    return fb::CreateReport(b, b.CreateVector(is));
  });
  std::vector<ReportOutcome> out;
  const fb::ReportReply* r = rb.response->body_as_ReportReply();
  if (r && r->outcomes()) {
    for (auto o : *r->outcomes()) out.push_back(static_cast<ReportOutcome>(o));
  }
  return out;
}

Result<std::vector<std::vector<ReportOutcome>>> Client::ReportMany(
    const std::string& pool, std::span<const std::vector<ReportItem>> reports) {
  std::vector<ResponseBuffer> responses;
  HEAPA_RETURN_IF_ERROR(DoMany(
      impl_.get(), &server_, pool, fb::RequestBody::Report, /*mutating=*/true, reports.size(),
      [&](Builder& b, size_t i) {
        std::vector<flatbuffers::Offset<fb::ReportItem>> is;
        for (const ReportItem& it : reports[i]) is.push_back(BuildReportItem(b, it));
        return fb::CreateReport(b, b.CreateVector(is));
      },
      [](size_t i) { return "report " + std::to_string(i); }, &responses));
  std::vector<std::vector<ReportOutcome>> out(reports.size());
  for (size_t i = 0; i < reports.size(); ++i) {
    const fb::ReportReply* r = responses[i].response->body_as_ReportReply();
    if (r && r->outcomes()) {
      for (auto o : *r->outcomes()) out[i].push_back(static_cast<ReportOutcome>(o));
    }
  }
  return out;
}

Result<size_t> Client::Reinsert(const std::string& pool) {
  HEAPA_CALL(pool, Reinsert, kMutation, [](Builder& b) { return fb::CreateReinsert(b); });
  const fb::CountReply* r = rb.response->body_as_CountReply();
  return static_cast<size_t>(r ? r->count() : 0);
}

Result<size_t> Client::Recover(const std::string& pool) {
  HEAPA_CALL(pool, Recover, kMutation, [](Builder& b) { return fb::CreateRecover(b); });
  const fb::CountReply* r = rb.response->body_as_CountReply();
  return static_cast<size_t>(r ? r->count() : 0);
}

Result<std::vector<std::pair<QueryId, double>>> Client::Refresh(
    const std::string& pool, const std::optional<index::RefreshOptions>& options) {
  HEAPA_CALL(pool, Refresh, kRead, [&](Builder& b) {
    const index::RefreshOptions o = options.value_or(index::RefreshOptions{});
    return fb::CreateRefresh(b, !options.has_value(), static_cast<fb::RefreshMode>(o.mode),
                             static_cast<fb::PathWeighting>(o.weighting), o.temperature,
                             o.inverse_adjust);
  });
  std::vector<std::pair<QueryId, double>> out;
  const fb::RefreshReply* r = rb.response->body_as_RefreshReply();
  if (r && r->ids() && r->values() && r->ids()->size() == r->values()->size()) {
    const std::vector<uint64_t> ids = CopyElements(r->ids());
    const std::vector<double> values = CopyElements(r->values());
    for (size_t i = 0; i < ids.size(); ++i) out.emplace_back(ids[i], values[i]);
  }
  return out;
}

Result<QueryInfo> Client::Get(const std::string& pool, QueryId id) {
  HEAPA_CALL(pool, Get, kRead, [&](Builder& b) { return fb::CreateGet(b, id); });
  const fb::GetReply* r = rb.response->body_as_GetReply();
  if (!r) return Status::Internal("Get answered without a body");
  return FromWire(r);
}

Result<std::vector<QueryInfo>> Client::GetMany(const std::string& pool,
                                               std::span<const QueryId> ids) {
  std::vector<ResponseBuffer> responses;
  // Reads carry no request id (0), as in Get: ids are for results a retry must find.
  HEAPA_RETURN_IF_ERROR(DoMany(
      impl_.get(), &server_, pool, fb::RequestBody::Get, /*mutating=*/false, ids.size(),
      [&](Builder& b, size_t i) { return fb::CreateGet(b, ids[i]); },
      [&](size_t i) { return "get " + std::to_string(ids[i]); }, &responses));
  std::vector<QueryInfo> out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const fb::GetReply* r = responses[i].response->body_as_GetReply();
    if (!r) return Status::Internal("Get answered without a body");
    out.push_back(FromWire(r));
    // Reads carry no request id to match answers by: check the query instead.
    if (out.back().id != ids[i]) {
      return Status::Internal("get " + std::to_string(ids[i]) + " answered with query " +
                              std::to_string(out.back().id));
    }
  }
  return out;
}

Result<LineageView> Client::Lineage(const std::string& pool, QueryId id, uint32_t max_depth) {
  HEAPA_CALL(pool, Lineage, kRead, [&](Builder& b) { return fb::CreateLineage(b, id, max_depth); });
  const fb::LineageReply* r = rb.response->body_as_LineageReply();
  if (!r) return Status::Internal("Lineage answered without a body");
  return FromWire(r);
}

Result<PoolStats> Client::Stats(const std::string& pool) {
  HEAPA_CALL(pool, PoolStats, kRead, [](Builder& b) { return fb::CreatePoolStats(b); });
  const fb::PoolStatsReply* r = rb.response->body_as_PoolStatsReply();
  if (!r) return Status::Internal("Stats answered without a body");
  PoolStats st = FromWire(r);
  return st;
}

Status Client::Checkpoint(const std::string& pool, const std::string& tag) {
  HEAPA_CALL(pool, Checkpoint, kAdmin,
             [&](Builder& b) { return fb::CreateCheckpoint(b, b.CreateString(tag)); });
  return Status::OK();
}

Result<std::vector<storage::CheckpointInfo>> Client::ListCheckpoints(const std::string& pool) {
  HEAPA_CALL(pool, ListCheckpoints, kRead, [](Builder& b) { return fb::CreateListCheckpoints(b); });
  std::vector<storage::CheckpointInfo> out;
  const fb::ListCheckpointsReply* r = rb.response->body_as_ListCheckpointsReply();
  if (r && r->checkpoints()) {
    for (const fb::CheckpointInfo* c : *r->checkpoints()) {
      out.push_back({c->tag() ? c->tag()->str() : "", c->created_ms(), c->bytes()});
    }
  }
  return out;
}

Status Client::Restore(const std::string& pool, const std::string& tag) {
  HEAPA_CALL(pool, Restore, kAdmin,
             [&](Builder& b) { return fb::CreateRestore(b, b.CreateString(tag)); });
  return Status::OK();
}

Status Client::Fork(const std::string& pool, const std::string& new_pool,
                    const std::optional<std::string>& tag) {
  HEAPA_CALL(pool, Fork, kAdmin, [&](Builder& b) {
    const auto t = tag ? b.CreateString(*tag) : 0;
    return fb::CreateFork(b, b.CreateString(new_pool), t);
  });
  return Status::OK();
}

Result<Hash128> Client::Digest(const std::string& pool) {
  HEAPA_CALL(pool, Digest, kRead, [](Builder& b) { return fb::CreateDigest(b); });
  const fb::DigestReply* r = rb.response->body_as_DigestReply();
  if (!r) return Status::Internal("Digest answered without a body");
  return Hash128{r->high(), r->low()};
}

Status Client::VerifyIndex(const std::string& pool) {
  HEAPA_CALL(pool, VerifyIndex, kRead, [](Builder& b) { return fb::CreateVerifyIndex(b); });
  return Status::OK();
}

}  // namespace heapa::net
