#include "net/client_impl.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "net/frame.h"

namespace heapa::net {
namespace {

int64_t MsLeft(Clock::time_point deadline) {
  return std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

}  // namespace

Status Client::Impl::Connect(ServerInfo* info) {
  Disconnect();
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
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
      fb::CreateHello(b, kProtocolVersion, options_.client_id, b.CreateString(options_.auth_token),
                      b.CreateString(options_.client_name));
  ResponseBuffer reply;
  Status said = Exchange(Finish(b, 0, "", fb::RequestBody::Hello, hello.Union()), deadline, &reply);
  if (said.ok()) said = FromWire(reply.response->code(), Message(reply));
  if (said.ok() && reply.response->body_as_HelloReply() == nullptr) {
    said = Status::Internal("Hello answered without a HelloReply");
  }
  if (!said.ok()) {
    // Not connected: a late HelloReply must never be read as the answer to a request.
    Disconnect();
    return said;
  }
  const fb::HelloReply* h = reply.response->body_as_HelloReply();
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

void Client::Impl::Disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  input_begin_ = input_end_ = 0;  // bytes of the old connection never answer the new one
}

// Builds a finished Request.
std::string Client::Impl::Finish(Builder& b, uint64_t request_id, const std::string& pool,
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

std::string Client::Impl::Message(const ResponseBuffer& r) {
  return r.response->message() ? r.response->message()->str() : "";
}

Status Client::Impl::Call(std::string request, bool mutating, bool admin, ServerInfo* info,
                          ResponseBuffer* out, const std::string& pool) {
  int64_t backoff = options_.retry_backoff_ms;
  Status last;
  bool sent = false;  // by an earlier attempt, unanswered: applied or not, nobody knows
  std::optional<Clock::time_point> busy_since;  // the first busy refusal of a resend
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
    const bool resend = sent;
    sent = true;
    last = Exchange(request, deadline, out);
    if (last.ok()) {
      const uint64_t seq = out->response->durable_seq();
      if (!pool.empty() && seq > 0) durable_[pool] = std::max(durable_[pool], seq);
      last = FromWire(out->response->code(), Message(*out));
      // A resent admin request refused for want of an admin slot (which the original may
      // still hold) says nothing about the original: ask again, for up to timeout_ms, without
      // counting attempts (the connection works).
      if (admin && resend && last.code() == Status::Code::kResourceExhausted) {
        const Clock::time_point now = Clock::now();
        if (!busy_since) busy_since = now;
        if (now - *busy_since < std::chrono::milliseconds(options_.timeout_ms)) {
          --attempt;
          continue;
        }
        return Status::UnknownOutcome(
            "resent, and refused as busy for " + std::to_string(options_.timeout_ms) +
            " ms; the original may have been applied: " + last.ToString());
      }
      return last;
    }
    Disconnect();
  }
  if (mutating && sent) {
    return Status::UnknownOutcome("no answer to a request that was sent, in " +
                                  std::to_string(std::max(1, options_.max_attempts)) +
                                  " attempts; it may have been applied: " + last.ToString());
  }
  return last;
}

Status Client::Impl::Exchange(const std::string& request, Clock::time_point deadline,
                              ResponseBuffer* out) {
  HEAPA_RETURN_IF_ERROR(SendFrame(request, deadline));
  return ReadResponse(deadline, out);
}

Status Client::Impl::SendFrame(const std::string& request, Clock::time_point deadline) {
  std::string frame;
  AppendFrame(request, &frame);
  return SendAll(frame, deadline);
}

Status Client::Impl::ReadResponse(Clock::time_point deadline, ResponseBuffer* out) {
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

Status Client::Impl::CallMany(const std::vector<OutgoingRequest>& requests, ServerInfo* info,
                              const std::string& pool, std::vector<ResponseBuffer>* out,
                              std::vector<Status>* statuses) {
  const size_t n = requests.size();
  out->assign(n, ResponseBuffer{});
  statuses->assign(n, Status::OK());
  size_t answered = 0;
  int failures = 0;  // in a row, without a response in between
  int64_t backoff = options_.retry_backoff_ms;
  Status last;
  size_t ever_sent = 0;  // requests [answered, ever_sent) were sent and are unanswered
  while (answered < n) {
    if (failures >= std::max(1, options_.max_attempts)) {
      if (answered < ever_sent && requests[answered].request_id != 0) {
        // The caller gets no answers with this error: say how many there were, and the first
        // refusal among them.
        std::string before;
        if (answered > 0) {
          before = answered == 1 ? " (request 1 was answered"
                                 : " (requests 1-" + std::to_string(answered) + " were answered";
          for (size_t i = 0; i < answered; ++i) {
            if ((*statuses)[i].ok()) continue;
            before +=
                "; request " + std::to_string(i + 1) + " was refused: " + (*statuses)[i].ToString();
            break;
          }
          before += ")";
        }
        return Status::UnknownOutcome("no answer to request " + std::to_string(answered + 1) +
                                      " of " + std::to_string(n) + ", which was sent, in " +
                                      std::to_string(failures) + " attempts; it may have been " +
                                      "applied" + before + ": " + last.ToString());
      }
      return last;
    }
    if (failures > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff = std::min<int64_t>(backoff * 2, 2000);
    }
    if (fd_ < 0) {
      last = Connect(info);
      if (last.code() == Status::Code::kCorruption) return last;
      if (!last.ok()) {
        ++failures;
        continue;
      }
    }
    // Keep at most kPipelineWindow requests unanswered: the daemon stops reading a connection
    // with too many, and a client that only sends would then wait for ever.
    size_t sent = answered;
    while (answered < n) {
      const Clock::time_point deadline =
          Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
      // The frames the window allows go out in one send: one segment, not one each, and
      // the daemon reads them with one wake-up.
      std::string frames;
      for (; sent < n && sent - answered < kPipelineWindow; ++sent) {
        AppendFrame(requests[sent].body, &frames);
      }
      if (!frames.empty()) {
        ever_sent = std::max(ever_sent, sent);
        last = SendAll(frames, deadline);
        if (!last.ok()) break;
      }
      ResponseBuffer& r = (*out)[answered];
      last = ReadResponse(deadline, &r);
      if (!last.ok()) break;
      if (r.response->request_id() != requests[answered].request_id) {
        last = Status::Unavailable("response to request " +
                                   std::to_string(r.response->request_id()) + " where " +
                                   std::to_string(requests[answered].request_id) + " was due");
        break;
      }
      const uint64_t seq = r.response->durable_seq();
      if (!pool.empty() && seq > 0) durable_[pool] = std::max(durable_[pool], seq);
      (*statuses)[answered] = FromWire(r.response->code(), Message(r));
      ++answered;
      failures = 0;
      backoff = options_.retry_backoff_ms;
    }
    if (answered == n) break;
    Disconnect();  // the unanswered ones are resent, with their request ids, on a new one
    ++failures;
  }
  return Status::OK();
}

Status Client::Impl::SendAll(const std::string& bytes, Clock::time_point deadline) {
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

Status Client::Impl::RecvAll(void* dst, size_t size, Clock::time_point deadline) {
  auto* p = static_cast<char*>(dst);
  size_t off = 0;
  while (off < size) {
    if (input_begin_ < input_end_) {
      const size_t take = std::min(size - off, input_end_ - input_begin_);
      std::memcpy(p + off, input_.data() + input_begin_, take);
      input_begin_ += take;
      off += take;
      continue;
    }
    // Nothing read ahead. What is still wanted goes straight into dst when it is large;
    // otherwise into input_, with whatever follows it.
    const bool direct = size - off >= kInputBytes;
    if (!direct && input_.size() < kInputBytes) input_.resize(kInputBytes);
    const ssize_t n =
        direct ? ::recv(fd_, p + off, size - off, 0) : ::recv(fd_, input_.data(), input_.size(), 0);
    if (n > 0) {
      if (direct) {
        off += static_cast<size_t>(n);
      } else {
        input_begin_ = 0;
        input_end_ = static_cast<size_t>(n);
      }
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

uint64_t Client::Impl::DurableSeq(const std::string& pool) const {
  auto it = durable_.find(pool);
  return it == durable_.end() ? 0 : it->second;
}

}  // namespace heapa::net
