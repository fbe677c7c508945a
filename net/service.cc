#include "net/service.h"

#include <chrono>
#include <cstring>
#include <vector>

#include "index/pool_deferred.h"
#include "net/convert.h"
#include "net/frame.h"
#include "net/metrics.h"

namespace heapa::net {
namespace {

using Offset = flatbuffers::Offset<void>;

struct Reply {
  Status status;
  fb::ResponseBody type = fb::ResponseBody::NONE;
  Offset body = 0;
  uint64_t durable_seq = 0;
  fb::Code protocol_code = fb::Code::OK;  // overrides the status mapping when set
};

std::string Finish(Builder& b, uint64_t request_id, const Reply& r) {
  const fb::Code code =
      r.protocol_code != fb::Code::OK ? r.protocol_code : ToWireCode(r.status.code());
  const auto message = b.CreateString(r.status.message());
  fb::ResponseBuilder rb(b);
  rb.add_request_id(request_id);
  rb.add_code(code);
  rb.add_message(message);
  rb.add_durable_seq(r.durable_seq);
  if (r.status.ok() && r.type != fb::ResponseBody::NONE) {
    rb.add_body_type(r.type);
    rb.add_body(r.body);
  }
  b.Finish(rb.Finish());
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

// The requests that read, copy or delete a whole pool (ServiceOptions::max_admin_requests).
bool IsAdminVerb(fb::RequestBody verb) {
  switch (verb) {
    case fb::RequestBody::Digest:
    case fb::RequestBody::VerifyIndex:
    case fb::RequestBody::Refresh:
    case fb::RequestBody::Checkpoint:
    case fb::RequestBody::Restore:
    case fb::RequestBody::Fork:
    case fb::RequestBody::PoolDrop:
      return true;
    default:
      return false;
  }
}

// Gives an admin slot back when it goes out of scope (nothing when given null).
class SlotRelease {
 public:
  explicit SlotRelease(std::atomic<size_t>* running) : running_(running) {}
  ~SlotRelease() {
    if (running_ != nullptr) --*running_;
  }
  SlotRelease(const SlotRelease&) = delete;
  SlotRelease& operator=(const SlotRelease&) = delete;

 private:
  std::atomic<size_t>* running_;
};

Reply Fail(fb::Code code, std::string msg) {
  Reply r;
  r.status = Status::InvalidArgument(msg);
  r.protocol_code = code;
  return r;
}

template <typename T>
Reply Body(fb::ResponseBody type, flatbuffers::Offset<T> body) {
  Reply r;
  r.type = type;
  r.body = body.Union();
  return r;
}

template <typename T, typename F>
std::vector<T> Each(const flatbuffers::Vector<flatbuffers::Offset<F>>* v) {
  std::vector<T> out;
  if (v) {
    out.reserve(v->size());
    for (const F* x : *v) out.push_back(FromWire(x));
  }
  return out;
}

Reply HandlePoolRequest(Builder& b, const fb::Request* req, Pool& pool, const RequestKey& rk) {
  switch (req->body_type()) {
    case fb::RequestBody::GetConfig:
      return Body(fb::ResponseBody::GetConfigReply,
                  fb::CreateGetConfigReply(b, BuildConfig(b, pool.config())));
    case fb::RequestBody::Insert: {
      auto r = pool.Insert(Each<NewQuery>(req->body_as_Insert()->queries()), rk);
      if (!r.ok()) return Reply{r.status()};
      std::vector<fb::InsertResult> results;
      for (const InsertResult& x : *r) results.emplace_back(x.id, x.created);
      return Body(fb::ResponseBody::InsertReply,
                  fb::CreateInsertReply(b, b.CreateVectorOfStructs(results)));
    }
    case fb::RequestBody::InsertChildren: {
      auto r = pool.InsertChildren(Each<NewChild>(req->body_as_InsertChildren()->children()), rk);
      if (!r.ok()) return Reply{r.status()};
      std::vector<fb::InsertResult> results;
      for (const InsertResult& x : *r) results.emplace_back(x.id, x.created);
      return Body(fb::ResponseBody::InsertReply,
                  fb::CreateInsertReply(b, b.CreateVectorOfStructs(results)));
    }
    case fb::RequestBody::Validate: {
      const fb::Validate* v = req->body_as_Validate();
      std::optional<std::string> answer;
      if (v->answer()) answer = v->answer()->str();
      std::optional<double> td;
      if (v->has_teacher_difficulty()) td = v->teacher_difficulty();
      return Reply{pool.Validate(v->id(), v->accept(), answer, td, rk)};
    }
    case fb::RequestBody::Sample: {
      const fb::Sample* s = req->body_as_Sample();
      SampleRequest sr;
      sr.count = s->count();
      sr.lease_ms = s->lease_ms();
      sr.with_content = s->with_content();
      auto r = pool.Sample(sr, rk);
      if (!r.ok()) return Reply{r.status()};
      std::vector<flatbuffers::Offset<fb::Sampled>> items;
      for (const SampledQuery& q : *r) items.push_back(BuildSampled(b, q));
      return Body(fb::ResponseBody::SampleReply, fb::CreateSampleReply(b, b.CreateVector(items)));
    }
    case fb::RequestBody::Report: {
      auto r = pool.Report(Each<ReportItem>(req->body_as_Report()->items()), rk);
      if (!r.ok()) return Reply{r.status()};
      std::vector<uint8_t> outcomes;
      for (ReportOutcome o : *r) outcomes.push_back(static_cast<uint8_t>(o));
      return Body(fb::ResponseBody::ReportReply,
                  fb::CreateReportReply(
                      b, b.CreateVector(reinterpret_cast<const fb::ReportOutcome*>(outcomes.data()),
                                        outcomes.size())));
    }
    case fb::RequestBody::Reinsert:
    case fb::RequestBody::Recover: {
      auto r = req->body_type() == fb::RequestBody::Reinsert ? pool.Reinsert(rk) : pool.Recover(rk);
      if (!r.ok()) return Reply{r.status()};
      return Body(fb::ResponseBody::CountReply, fb::CreateCountReply(b, *r));
    }
    case fb::RequestBody::Refresh: {
      const fb::Refresh* f = req->body_as_Refresh();
      std::optional<index::RefreshOptions> o;
      if (!f->use_pool_config()) o = FromWire(f);
      auto r = pool.RefreshDryRun(o);
      if (!r.ok()) return Reply{r.status()};
      std::vector<uint64_t> ids;
      std::vector<double> values;
      for (const auto& [id, v] : *r) {
        ids.push_back(id);
        values.push_back(v);
      }
      return Body(fb::ResponseBody::RefreshReply,
                  fb::CreateRefreshReply(b, b.CreateVector(ids), b.CreateVector(values)));
    }
    case fb::RequestBody::Get: {
      auto r = pool.Get(req->body_as_Get()->id());
      if (!r.ok()) return Reply{r.status()};
      return Body(fb::ResponseBody::GetReply, BuildGetReply(b, *r));
    }
    case fb::RequestBody::Lineage: {
      const fb::Lineage* l = req->body_as_Lineage();
      auto r = pool.Lineage(l->id(), l->max_depth());
      if (!r.ok()) return Reply{r.status()};
      return Body(fb::ResponseBody::LineageReply, BuildLineageReply(b, *r));
    }
    case fb::RequestBody::PoolStats:
      return Body(fb::ResponseBody::PoolStatsReply, BuildStatsReply(b, pool.Stats()));
    case fb::RequestBody::Checkpoint: {
      const auto* tag = req->body_as_Checkpoint()->tag();
      return Reply{pool.Checkpoint(tag ? tag->str() : "", rk)};
    }
    case fb::RequestBody::ListCheckpoints: {
      auto r = pool.ListCheckpoints();
      if (!r.ok()) return Reply{r.status()};
      std::vector<flatbuffers::Offset<fb::CheckpointInfo>> list;
      for (const storage::CheckpointInfo& c : *r) {
        list.push_back(fb::CreateCheckpointInfo(b, b.CreateString(c.tag), c.created_ms, c.bytes));
      }
      return Body(fb::ResponseBody::ListCheckpointsReply,
                  fb::CreateListCheckpointsReply(b, b.CreateVector(list)));
    }
    case fb::RequestBody::Restore: {
      const auto* tag = req->body_as_Restore()->tag();
      return Reply{pool.Restore(tag ? tag->str() : "", rk)};
    }
    case fb::RequestBody::Digest: {
      auto r = pool.Digest();
      if (!r.ok()) return Reply{r.status()};
      return Body(fb::ResponseBody::DigestReply, fb::CreateDigestReply(b, r->high, r->low));
    }
    case fb::RequestBody::VerifyIndex:
      return Reply{pool.VerifyIndex()};
    default:
      return Fail(fb::Code::BAD_REQUEST, "not a pool request");
  }
}

}  // namespace

std::string Service::ErrorResponse(ProtocolError error, std::string_view message) {
  Builder b(128);
  fb::Code code = fb::Code::BAD_REQUEST;
  switch (error) {
    case ProtocolError::kFrameTooLarge:
      code = fb::Code::FRAME_TOO_LARGE;
      break;
    case ProtocolError::kTooManyConnections:
      code = fb::Code::TOO_MANY_CONNECTIONS;
      break;
    case ProtocolError::kBadRequest:
      code = fb::Code::BAD_REQUEST;
      break;
  }
  return Finish(b, 0, Fail(code, std::string(message)));
}

struct Service::Pending::State {
  Builder builder{1024};
  uint64_t request_id = 0;
  std::string response;  // the finished response; empty while a pool request is pending
  Reply reply;           // a pool request's reply, finished by Complete()
  std::shared_ptr<Pool> pool;
  std::unique_ptr<Pool::DeferredDurability> deferred;
  bool close = false;
  bool needs_admin_thread = false;  // a whole-pool request, not begun (Begin)
  int verb = 0;                     // the request kind (0: not a valid request)
  std::chrono::steady_clock::time_point start;
};

Service::Pending::Pending() : state_(std::make_unique<State>()) {}
Service::Pending::~Pending() = default;
Service::Pending::Pending(Pending&&) noexcept = default;
Service::Pending& Service::Pending::operator=(Pending&&) noexcept = default;
bool Service::Pending::close() const { return state_->close; }
bool Service::Pending::needs_admin_thread() const { return state_->needs_admin_thread; }

Service::Pending Service::Begin(SessionState* session, std::string_view body,
                                AdminMode admin_mode) {
  Pending pending;
  if (options_.metrics != nullptr) pending.state_->start = std::chrono::steady_clock::now();
  Respond(session, body, admin_mode, pending.state_.get());
  return pending;
}

std::string Service::Complete(Pending pending) {
  Pending::State& st = *pending.state_;
  if (!st.response.empty()) return Conclude(std::move(pending), 0);
  // A pool request: answer only once what it changed is durable.
  const Status durable = st.deferred->Wait();
  if (!durable.ok()) st.reply = Reply{durable};
  const uint64_t durable_seq = st.pool->durable_seq();
  return Conclude(std::move(pending), durable_seq);
}

void Service::CompleteWhenDurable(Pending pending, RespondFn respond, OffloadFn offload) {
  if (!pending.state_->response.empty()) return respond(Conclude(std::move(pending), 0));
  auto shared = std::make_shared<Pending>(std::move(pending));
  shared->state_->deferred->WhenDurable(
      [this, shared, respond = std::move(respond), offload = std::move(offload)](
          const Status& s, uint64_t durable_seq) {
        if (s.ok()) return respond(Conclude(std::move(*shared), durable_seq));
        // Complete() waits again, gets the failure and lets the pool rebuild (if that committer
        // is still the pool's): that may block.
        offload([this, shared, respond] { respond(Complete(std::move(*shared))); });
      });
}

std::string Service::Conclude(Pending pending, uint64_t durable_seq) {
  Pending::State& st = *pending.state_;
  if (st.response.empty()) {
    st.reply.durable_seq = durable_seq;
    st.response = Finish(st.builder, st.request_id, st.reply);
  }
  if (options_.metrics != nullptr) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - st.start).count();
    // Our own response: aligned (std::string storage) and well-formed.
    const bool ok = flatbuffers::GetRoot<fb::Response>(st.response.data())->code() == fb::Code::OK;
    options_.metrics->Observe(st.verb, ok, seconds);
  }
  return std::move(st.response);
}

std::string Service::Handle(SessionState* session, std::string_view body, bool* close) {
  Pending pending = Begin(session, body);
  *close = pending.close();
  return Complete(std::move(pending));
}

bool Service::TakeAdminSlot() {
  size_t running = admin_running_.load();
  do {
    if (running >= options_.max_admin_requests) return false;
  } while (!admin_running_.compare_exchange_weak(running, running + 1));
  return true;
}

void Service::Respond(SessionState* session, std::string_view body, AdminMode admin_mode,
                      Pending::State* state) {
  // An admitted request's slot is given back however this ends.
  const SlotRelease admitted_slot(admin_mode == AdminMode::kAdmitted ? &admin_running_ : nullptr);
  Builder& b = state->builder;
  uint64_t rid = 0;
  auto done = [&](const Reply& reply) { state->response = Finish(b, rid, reply); };
  // FlatBuffers needs aligned access: the frame body is copied into 8-byte-aligned memory.
  std::vector<uint64_t> aligned(body.size() / 8 + 1);
  std::memcpy(aligned.data(), body.data(), body.size());
  const auto* data = reinterpret_cast<const uint8_t*>(aligned.data());
  flatbuffers::Verifier verifier(data, body.size(), /*_max_depth=*/64, /*_max_tables=*/1u << 22);
  if (!fb::VerifyRequestBuffer(verifier)) {
    return done(Fail(fb::Code::BAD_REQUEST, "frame is not a valid Request"));
  }
  const fb::Request* req = fb::GetRequest(data);
  state->verb = static_cast<int>(req->body_type());
  rid = req->request_id();
  if (req->body_type() == fb::RequestBody::NONE) {
    return done(Fail(fb::Code::BAD_REQUEST, "request has no body"));
  }
  if (!session->greeted) {
    state->close = true;
    if (req->body_type() != fb::RequestBody::Hello) {
      return done(Fail(fb::Code::BAD_REQUEST, "the first request must be Hello"));
    }
    const fb::Hello* hello = req->body_as_Hello();
    if (hello->protocol_version() != kProtocolVersion) {
      return done(Fail(fb::Code::UNSUPPORTED_VERSION,
                       "protocol version " + std::to_string(hello->protocol_version()) +
                           " is not supported; this server speaks " +
                           std::to_string(kProtocolVersion)));
    }
    const std::string token = hello->auth_token() ? hello->auth_token()->str() : "";
    if (!options_.auth_token.empty() && token != options_.auth_token) {
      return done(Fail(fb::Code::UNAUTHENTICATED, "bad or missing auth token"));
    }
    state->close = false;
    session->greeted = true;
    session->client_id = hello->client_id();
    std::vector<flatbuffers::Offset<fb::PoolSeq>> seqs;
    for (const auto& [name, seq] : pools_->DurableSeqs()) {
      seqs.push_back(fb::CreatePoolSeq(b, b.CreateString(name), seq));
    }
    const auto reply = fb::CreateHelloReply(
        b, kProtocolVersion, b.CreateString(options_.server_version), b.CreateVector(seqs));
    return done(Body(fb::ResponseBody::HelloReply, reply));
  }
  const std::string pool_name = req->pool() ? req->pool()->str() : "";
  // Anonymous clients (id 0) share no request ids: their requests are not retryable.
  const RequestKey rk{session->client_id, session->client_id != 0 ? rid : 0};
  const bool admin = IsAdminVerb(req->body_type());
  const bool take_slot = admin && admin_mode != AdminMode::kAdmitted;
  // A request on a pool that does not exist is answered so, not refused for want of a slot;
  // a retry of the drop that removed it is answered OK. A fork always goes to the registry
  // (so a fork from a missing pool may be refused for want of a slot): its retry may find the
  // new pool published and not yet open (PoolRegistry::Fork).
  if (take_slot && req->body_type() != fb::RequestBody::Fork) {
    const fb::PoolDrop* drop = req->body_as_PoolDrop();
    const std::string target =  // PoolDrop names its pool in its body
        drop == nullptr ? pool_name : (drop->name() ? drop->name()->str() : "");
    // While a create, fork or drop of the name runs, its outcome is unknown: wait for a slot.
    const PoolRegistry::Lookup found = pools_->Look(target);
    if (!found.pool && !found.busy) {
      if (drop != nullptr) {
        const Result<bool> answered = pools_->DropAnswered(target, rk);
        if (!answered.ok()) return done(Reply{answered.status()});
        if (*answered) return done(Reply{Status::OK()});
      }
      return done(Reply{Status::NotFound("pool '" + target + "' not found")});
    }
  }
  if (take_slot && !TakeAdminSlot()) {
    return done(Reply{Status::ResourceExhausted(
        std::to_string(options_.max_admin_requests) +
        " whole-pool requests (digest, verify, refresh, checkpoint, restore, fork, drop) are "
        "running; retry later")});
  }
  if (take_slot && admin_mode == AdminMode::kDefer) {
    state->needs_admin_thread = true;  // the slot stays taken for the kAdmitted Begin
    return;
  }
  // The slot is given back once this request has executed (its durability wait is not counted).
  const SlotRelease slot(take_slot ? &admin_running_ : nullptr);
  if (admin && options_.TEST_admin_hook) options_.TEST_admin_hook();
  switch (req->body_type()) {
    case fb::RequestBody::Hello:
      return done(Fail(fb::Code::BAD_REQUEST, "Hello was already received"));
    case fb::RequestBody::PoolList: {
      std::vector<flatbuffers::Offset<flatbuffers::String>> names;
      for (const std::string& n : pools_->Names()) names.push_back(b.CreateString(n));
      const auto reply = fb::CreatePoolListReply(b, b.CreateVector(names));
      return done(Body(fb::ResponseBody::PoolListReply, reply));
    }
    case fb::RequestBody::PoolCreate: {
      const fb::PoolCreate* c = req->body_as_PoolCreate();
      const std::string name = c->name() ? c->name()->str() : "";
      return done(Reply{pools_->Create(name, FromWire(c->config()), rk)});
    }
    case fb::RequestBody::PoolDrop: {
      const auto* name = req->body_as_PoolDrop()->name();
      return done(Reply{pools_->Drop(name ? name->str() : "", rk)});
    }
    case fb::RequestBody::Fork: {
      const fb::Fork* f = req->body_as_Fork();
      std::optional<std::string> tag;
      if (f->tag()) tag = f->tag()->str();
      return done(
          Reply{pools_->Fork(pool_name, f->new_pool() ? f->new_pool()->str() : "", tag, rk)});
    }
    default:
      break;
  }
  auto pool = pools_->Find(pool_name);
  if (!pool.ok()) return done(Reply{pool.status()});
  state->request_id = rid;
  state->pool = *pool;
  state->deferred = std::make_unique<Pool::DeferredDurability>(pool->get());
  state->reply = HandlePoolRequest(b, req, **pool, rk);
  state->deferred->Release();
}

}  // namespace heapa::net
