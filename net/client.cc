#include "net/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include "net/convert.h"
#include "net/frame.h"

namespace heapa::net {
namespace {

using Clock = std::chrono::steady_clock;

enum class Retry { kResend, kOnce };

int64_t MsLeft(Clock::time_point deadline) {
  return std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

}  // namespace

// A parsed response that owns its (aligned) bytes.
struct ResponseBuffer {
  std::vector<uint64_t> words;
  const fb::Response* response = nullptr;
};

class Client::Impl {
 public:
  explicit Impl(const ClientOptions& o) : options_(o) {}
  ~Impl() { Disconnect(); }

  Status Connect(ServerInfo* info) {
    Disconnect();
    const Clock::time_point deadline =
        Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(options_.port);
    if (::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
      return Status::Unavailable("cannot resolve " + options_.host);
    }
    Status last = Status::Unavailable("no address for " + options_.host);
    for (addrinfo* ai = res; ai && fd_ < 0; ai = ai->ai_next) {
      const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) continue;
      int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = ::poll(&p, 1, static_cast<int>(MsLeft(deadline))) == 1 ? 0 : -1;
        int err = 0;
        socklen_t len = sizeof(err);
        if (rc == 0 && (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
          rc = -1;
          errno = err;
        }
      }
      if (rc != 0) {
        last = Status::Unavailable("connect to " + options_.host + ":" + port + ": " +
                                   std::strerror(errno));
        ::close(fd);
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      fd_ = fd;
    }
    ::freeaddrinfo(res);
    if (fd_ < 0) return last;

    Builder b(256);
    const auto hello =
        fb::CreateHello(b, kProtocolVersion, options_.client_id,
                        b.CreateString(options_.auth_token), b.CreateString(options_.client_name));
    ResponseBuffer reply;
    HEAPA_RETURN_IF_ERROR(
        Exchange(Finish(b, 0, "", fb::RequestBody::Hello, hello.Union()), deadline, &reply));
    HEAPA_RETURN_IF_ERROR(FromWire(reply.response->code(), Message(reply)));
    const fb::HelloReply* h = reply.response->body_as_HelloReply();
    if (!h) return Status::Internal("Hello answered without a HelloReply");
    info->protocol_version = h->protocol_version();
    info->server_version = h->server_version() ? h->server_version()->str() : "";
    info->durable_seqs.clear();
    if (h->pools()) {
      for (const fb::PoolSeq* p : *h->pools()) {
        const std::string name = p->pool() ? p->pool()->str() : "";
        info->durable_seqs.emplace_back(name, p->durable_seq());
        // reliability-plan R6: a daemon that forgot acknowledged writes must not go unnoticed.
        auto seen = durable_.find(name);
        if (seen != durable_.end() && p->durable_seq() < seen->second) {
          Disconnect();
          return Status::Corruption("server lost acknowledged writes: pool '" + name +
                                    "' is at durable sequence " + std::to_string(p->durable_seq()) +
                                    ", this client saw " + std::to_string(seen->second));
        }
      }
    }
    return Status::OK();
  }

  void Disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Builds a finished Request.
  static std::string Finish(Builder& b, uint64_t request_id, const std::string& pool,
                            fb::RequestBody type, flatbuffers::Offset<void> body) {
    const auto pool_off = b.CreateString(pool);
    fb::RequestBuilder rb(b);
    rb.add_request_id(request_id);
    rb.add_pool(pool_off);
    rb.add_body_type(type);
    rb.add_body(body);
    b.Finish(rb.Finish());
    return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  }

  static std::string Message(const ResponseBuffer& r) {
    return r.response->message() ? r.response->message()->str() : "";
  }

  // Sends one request and reads its response, reconnecting and resending as the policy says.
  Status Call(std::string request, Retry retry, ServerInfo* info, ResponseBuffer* out,
              const std::string& pool) {
    int64_t backoff = options_.retry_backoff_ms;
    Status last;
    for (int attempt = 0; attempt < std::max(1, options_.max_attempts); ++attempt) {
      if (attempt > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
        backoff = std::min<int64_t>(backoff * 2, 2000);
      }
      if (fd_ < 0) {
        last = Connect(info);
        if (last.code() == Status::Code::kCorruption) return last;
        if (!last.ok()) continue;  // nothing was sent: always safe to try again
      }
      const Clock::time_point deadline =
          Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
      last = Exchange(request, deadline, out);
      if (last.ok()) {
        const uint64_t seq = out->response->durable_seq();
        if (!pool.empty() && seq > 0) durable_[pool] = std::max(durable_[pool], seq);
        return FromWire(out->response->code(), Message(*out));
      }
      Disconnect();
      if (retry == Retry::kOnce) {
        return Status::UnknownOutcome("connection lost after the request was sent: " +
                                      last.ToString());
      }
    }
    return last;
  }

  Status Exchange(const std::string& request, Clock::time_point deadline, ResponseBuffer* out) {
    std::string frame;
    AppendFrame(request, &frame);
    HEAPA_RETURN_IF_ERROR(SendAll(frame, deadline));
    unsigned char header[kFrameHeaderBytes];
    HEAPA_RETURN_IF_ERROR(RecvAll(header, sizeof(header), deadline));
    const uint32_t length = DecodeFrameLength(header);
    if (length == 0 || length > kDefaultMaxFrameBytes * 4) {
      return Status::Unavailable("response frame of " + std::to_string(length) + " bytes");
    }
    out->words.assign(length / 8 + 1, 0);
    HEAPA_RETURN_IF_ERROR(RecvAll(out->words.data(), length, deadline));
    const auto* data = reinterpret_cast<const uint8_t*>(out->words.data());
    flatbuffers::Verifier verifier(data, length, 64, 1u << 22);
    if (!verifier.VerifyBuffer<fb::Response>(nullptr)) {
      return Status::Unavailable("the daemon sent an invalid Response");
    }
    out->response = flatbuffers::GetRoot<fb::Response>(data);
    return Status::OK();
  }

  Status SendAll(const std::string& bytes, Clock::time_point deadline) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(MsLeft(deadline))) <= 0) {
          return Status::Unavailable("send timed out");
        }
        continue;
      }
      return Status::Unavailable(std::string("send: ") + std::strerror(errno));
    }
    return Status::OK();
  }

  Status RecvAll(void* dst, size_t size, Clock::time_point deadline) {
    auto* p = static_cast<char*>(dst);
    size_t off = 0;
    while (off < size) {
      const ssize_t n = ::recv(fd_, p + off, size - off, 0);
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) return Status::Unavailable("the daemon closed the connection");
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        pollfd pf{fd_, POLLIN, 0};
        if (::poll(&pf, 1, static_cast<int>(MsLeft(deadline))) <= 0) {
          return Status::Unavailable("receive timed out");
        }
        continue;
      }
      return Status::Unavailable(std::string("recv: ") + std::strerror(errno));
    }
    return Status::OK();
  }

  uint64_t NextRequestId() { return next_request_id_++; }
  uint64_t DurableSeq(const std::string& pool) const {
    auto it = durable_.find(pool);
    return it == durable_.end() ? 0 : it->second;
  }

 private:
  ClientOptions options_;
  int fd_ = -1;
  uint64_t next_request_id_ = 1;
  std::map<std::string, uint64_t> durable_;  // highest durable_seq seen per pool
};

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

// The request helpers: build a body, call, and hand back the parsed response.
template <typename BodyFn>
Status Do(Client::Impl* impl, ServerInfo* info, const std::string& pool, fb::RequestBody type,
          Retry retry, bool mutating, BodyFn body_fn, ResponseBuffer* out) {
  Builder b(1024);
  const auto body = body_fn(b);
  // Mutations carry a fresh request id; resends reuse it (the daemon then replays the result).
  const uint64_t rid = mutating ? impl->NextRequestId() : 0;
  return impl->Call(Client::Impl::Finish(b, rid, pool, type, body.Union()), retry, info, out, pool);
}

}  // namespace

#define HEAPA_CALL(pool, TYPE, retry, mutating, body_fn) \
  ResponseBuffer rb;                                     \
  HEAPA_RETURN_IF_ERROR(                                 \
      Do(impl_.get(), &server_, pool, fb::RequestBody::TYPE, retry, mutating, body_fn, &rb))

Result<std::vector<std::string>> Client::ListPools() {
  HEAPA_CALL("", PoolList, Retry::kResend, false, [](Builder& b) { return fb::CreatePoolList(b); });
  std::vector<std::string> out;
  const fb::PoolListReply* r = rb.response->body_as_PoolListReply();
  if (r && r->names()) {
    for (const auto* n : *r->names()) out.push_back(n->str());
  }
  return out;
}

Status Client::CreatePool(const std::string& pool, const PoolConfig& config) {
  HEAPA_CALL("", PoolCreate, Retry::kOnce, false, [&](Builder& b) {
    return fb::CreatePoolCreate(b, b.CreateString(pool), BuildConfig(b, config));
  });
  return Status::OK();
}

Status Client::DropPool(const std::string& pool) {
  HEAPA_CALL("", PoolDrop, Retry::kOnce, false,
             [&](Builder& b) { return fb::CreatePoolDrop(b, b.CreateString(pool)); });
  return Status::OK();
}

Result<PoolConfig> Client::GetConfig(const std::string& pool) {
  HEAPA_CALL(pool, GetConfig, Retry::kResend, false,
             [](Builder& b) { return fb::CreateGetConfig(b); });
  const fb::GetConfigReply* r = rb.response->body_as_GetConfigReply();
  if (!r) return Status::Internal("GetConfig answered without a body");
  return FromWire(r->config());
}

namespace {
std::vector<InsertResult> InsertResults(const ResponseBuffer& rb) {
  std::vector<InsertResult> out;
  const fb::InsertReply* r = rb.response->body_as_InsertReply();
  if (r && r->results()) {
    for (const fb::InsertResult* x : *r->results()) out.push_back({x->id(), x->created()});
  }
  return out;
}
}  // namespace

Result<std::vector<InsertResult>> Client::Insert(const std::string& pool,
                                                 std::span<const NewQuery> queries) {
  HEAPA_CALL(pool, Insert, Retry::kResend, true, [&](Builder& b) {
    std::vector<flatbuffers::Offset<fb::Query>> qs;
    for (const NewQuery& q : queries) qs.push_back(BuildQuery(b, q));
    return fb::CreateInsert(b, b.CreateVector(qs));
  });
  return InsertResults(rb);
}

Result<std::vector<InsertResult>> Client::InsertChildren(const std::string& pool,
                                                         std::span<const NewChild> children) {
  HEAPA_CALL(pool, InsertChildren, Retry::kResend, true, [&](Builder& b) {
    std::vector<flatbuffers::Offset<fb::Child>> cs;
    for (const NewChild& c : children) cs.push_back(BuildChild(b, c));
    return fb::CreateInsertChildren(b, b.CreateVector(cs));
  });
  return InsertResults(rb);
}

Status Client::Validate(const std::string& pool, QueryId id, bool accept,
                        std::optional<std::string> answer,
                        std::optional<double> teacher_difficulty) {
  HEAPA_CALL(pool, Validate, Retry::kResend, true, [&](Builder& b) {
    const auto a = answer ? b.CreateString(*answer) : 0;
    return fb::CreateValidate(b, id, accept, a, teacher_difficulty.has_value(),
                              teacher_difficulty.value_or(0));
  });
  return Status::OK();
}

Result<std::vector<SampledQuery>> Client::Sample(const std::string& pool,
                                                 const SampleRequest& req) {
  HEAPA_CALL(pool, Sample, Retry::kResend, true, [&](Builder& b) {
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
  HEAPA_CALL(pool, Report, Retry::kResend, true, [&](Builder& b) {
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

Result<size_t> Client::Reinsert(const std::string& pool) {
  HEAPA_CALL(pool, Reinsert, Retry::kResend, true,
             [](Builder& b) { return fb::CreateReinsert(b); });
  const fb::CountReply* r = rb.response->body_as_CountReply();
  return static_cast<size_t>(r ? r->count() : 0);
}

Result<size_t> Client::Recover(const std::string& pool) {
  HEAPA_CALL(pool, Recover, Retry::kResend, true, [](Builder& b) { return fb::CreateRecover(b); });
  const fb::CountReply* r = rb.response->body_as_CountReply();
  return static_cast<size_t>(r ? r->count() : 0);
}

Result<std::vector<std::pair<QueryId, double>>> Client::Refresh(
    const std::string& pool, const std::optional<index::RefreshOptions>& options) {
  HEAPA_CALL(pool, Refresh, Retry::kResend, false, [&](Builder& b) {
    const index::RefreshOptions o = options.value_or(index::RefreshOptions{});
    return fb::CreateRefresh(b, !options.has_value(), static_cast<fb::RefreshMode>(o.mode),
                             static_cast<fb::PathWeighting>(o.weighting), o.temperature,
                             o.inverse_adjust);
  });
  std::vector<std::pair<QueryId, double>> out;
  const fb::RefreshReply* r = rb.response->body_as_RefreshReply();
  if (r && r->ids() && r->values() && r->ids()->size() == r->values()->size()) {
    for (flatbuffers::uoffset_t i = 0; i < r->ids()->size(); ++i) {
      out.emplace_back(r->ids()->Get(i), r->values()->Get(i));
    }
  }
  return out;
}

Result<QueryInfo> Client::Get(const std::string& pool, QueryId id) {
  HEAPA_CALL(pool, Get, Retry::kResend, false, [&](Builder& b) { return fb::CreateGet(b, id); });
  const fb::GetReply* r = rb.response->body_as_GetReply();
  if (!r) return Status::Internal("Get answered without a body");
  return FromWire(r);
}

Result<LineageView> Client::Lineage(const std::string& pool, QueryId id, uint32_t max_depth) {
  HEAPA_CALL(pool, Lineage, Retry::kResend, false,
             [&](Builder& b) { return fb::CreateLineage(b, id, max_depth); });
  const fb::LineageReply* r = rb.response->body_as_LineageReply();
  if (!r) return Status::Internal("Lineage answered without a body");
  return FromWire(r);
}

Result<PoolStats> Client::Stats(const std::string& pool) {
  HEAPA_CALL(pool, PoolStats, Retry::kResend, false,
             [](Builder& b) { return fb::CreatePoolStats(b); });
  const fb::PoolStatsReply* r = rb.response->body_as_PoolStatsReply();
  if (!r) return Status::Internal("Stats answered without a body");
  PoolStats st = FromWire(r);
  return st;
}

Status Client::Checkpoint(const std::string& pool, const std::string& tag) {
  HEAPA_CALL(pool, Checkpoint, Retry::kOnce, false,
             [&](Builder& b) { return fb::CreateCheckpoint(b, b.CreateString(tag)); });
  return Status::OK();
}

Result<std::vector<storage::CheckpointInfo>> Client::ListCheckpoints(const std::string& pool) {
  HEAPA_CALL(pool, ListCheckpoints, Retry::kResend, false,
             [](Builder& b) { return fb::CreateListCheckpoints(b); });
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
  HEAPA_CALL(pool, Restore, Retry::kOnce, false,
             [&](Builder& b) { return fb::CreateRestore(b, b.CreateString(tag)); });
  return Status::OK();
}

Status Client::Fork(const std::string& pool, const std::string& new_pool,
                    const std::optional<std::string>& tag) {
  HEAPA_CALL(pool, Fork, Retry::kOnce, false, [&](Builder& b) {
    const auto t = tag ? b.CreateString(*tag) : 0;
    return fb::CreateFork(b, b.CreateString(new_pool), t);
  });
  return Status::OK();
}

Result<Hash128> Client::Digest(const std::string& pool) {
  HEAPA_CALL(pool, Digest, Retry::kResend, false, [](Builder& b) { return fb::CreateDigest(b); });
  const fb::DigestReply* r = rb.response->body_as_DigestReply();
  if (!r) return Status::Internal("Digest answered without a body");
  return Hash128{r->high(), r->low()};
}

Status Client::VerifyIndex(const std::string& pool) {
  HEAPA_CALL(pool, VerifyIndex, Retry::kResend, false,
             [](Builder& b) { return fb::CreateVerifyIndex(b); });
  return Status::OK();
}

}  // namespace heapa::net
