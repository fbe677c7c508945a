#include "tests/testutil/raw_conn.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "net/frame.h"

namespace heapa::testing {

std::unique_ptr<net::Client> ConnectTo(const Daemon& d, uint64_t client_id,
                                       const std::string& token, int max_attempts) {
  net::ClientOptions o;
  o.port = d.port();
  o.client_id = client_id;
  o.auth_token = token;
  o.timeout_ms = 10000;
  o.max_attempts = max_attempts;
  auto c = net::Client::Connect(o);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  return std::move(c).value();
}

Raw::Raw(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
}

Raw::~Raw() {
  if (fd_ >= 0) ::close(fd_);
}

void Raw::Send(const std::string& bytes) {
  REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
}

void Raw::SendFrame(const std::string& body) {
  std::string f;
  net::AppendFrame(body, &f);
  Send(f);
}

std::optional<net::fb::Code> Raw::ReadCode() {
  const std::optional<Response> r = ReadResponse();
  if (!r) return std::nullopt;
  return r->code;
}

std::optional<Raw::Response> Raw::ReadResponse() {
  unsigned char h[4];
  if (!ReadAll(h, 4)) return std::nullopt;
  std::vector<uint64_t> body(net::DecodeFrameLength(h) / 8 + 1);
  if (!ReadAll(body.data(), net::DecodeFrameLength(h))) return std::nullopt;
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(body.data()), net::DecodeFrameLength(h));
  REQUIRE(v.VerifyBuffer<net::fb::Response>(nullptr));
  const auto* r = flatbuffers::GetRoot<net::fb::Response>(body.data());
  return Response{r->request_id(), r->code(), r->body_type()};
}

bool Raw::Closed() {
  char c;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return false;
  return ::recv(fd_, &c, 1, 0) <= 0;
}

void Raw::Reset() {
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd_);
  fd_ = -1;
}

bool Raw::ReadAll(void* dst, size_t n) {
  auto* p = static_cast<char*>(dst);
  size_t off = 0;
  while (off < n) {
    pollfd pf{fd_, POLLIN, 0};
    if (::poll(&pf, 1, 5000) != 1) return false;
    const ssize_t r = ::recv(fd_, p + off, n - off, 0);
    if (r <= 0) return false;
    off += static_cast<size_t>(r);
  }
  return true;
}

std::string HelloBody(uint32_t version, const std::string& token) {
  flatbuffers::FlatBufferBuilder b;
  const auto hello = net::fb::CreateHello(b, version, 0, b.CreateString(token));
  b.Finish(net::fb::CreateRequest(b, 0, 0, net::fb::RequestBody::Hello, hello.Union()));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

std::string StatsBody(const std::string& pool) {
  flatbuffers::FlatBufferBuilder b;
  const auto body = net::fb::CreatePoolStats(b);
  b.Finish(net::fb::CreateRequest(b, 0, b.CreateString(pool), net::fb::RequestBody::PoolStats,
                                  body.Union()));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

}  // namespace heapa::testing
