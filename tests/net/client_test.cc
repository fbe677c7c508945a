// net::Client against a scripted server: how it frames pipelined requests and reads responses
// that arrive split anywhere, several to a segment, or larger than its read-ahead buffer, and
// that bytes of a broken connection never answer requests on the next one.
#include "net/client.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "net/frame.h"
#include "protocol_generated.h"
#include "tests/testutil/test_util.h"

namespace heapa::net {
namespace {

// What the scripted server does with the responses of one connection.
struct Script {
  // Sends the responses pending after each read of requests in pieces of 1 to max_piece
  // bytes (all at once when 0).
  size_t max_piece = 0;
  // Adds a message of this many bytes to every fifth response (larger than the client's
  // read-ahead: read past it).
  size_t big_message = 0;
  // On the first connection only: closes it after this many report responses and half of
  // the next one (never when 0).
  size_t break_after = 0;
  // On the first connection only: the response to this report (counted from 1) names another
  // request, and the ones after it follow in the same segment (never when 0). The client
  // must drop the connection with everything it read ahead of it.
  size_t wrong_id_at = 0;
};

// A one-client TCP server on 127.0.0.1 that answers Hello and Report requests (every item
// applied) by the script. Counts how often it saw each report request id.
class ScriptedServer {
 public:
  ScriptedServer(Script script, uint64_t seed) : script_(script), rng_(seed) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }

  uint16_t port() const { return port_; }
  // How many times each report request id arrived, and connections accepted, so far.
  std::map<uint64_t, int> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  int connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }

 private:
  void Serve() {
    while (!stop_) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      bool first = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        first = ++connections_ == 1;
      }
      ServeConnection(fd, first);
      ::close(fd);
    }
  }

  void ServeConnection(int fd, bool first) {
    std::string in;
    size_t reports = 0;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      // Every complete request read so far is answered now, in one run of bytes.
      std::string out;
      size_t cut = std::string::npos;  // where a scripted break ends the bytes sent
      size_t pos = 0;
      while (in.size() - pos >= kFrameHeaderBytes) {
        const uint32_t length =
            DecodeFrameLength(reinterpret_cast<const unsigned char*>(in.data() + pos));
        if (in.size() - pos - kFrameHeaderBytes < length) break;
        const auto* req = flatbuffers::GetRoot<fb::Request>(in.data() + pos + kFrameHeaderBytes);
        pos += kFrameHeaderBytes + length;
        if (req->body_type() == fb::RequestBody::Report) {
          std::lock_guard<std::mutex> lock(mu_);
          ++seen_[req->request_id()];
          ++reports;
        }
        const bool wrong = first && req->body_type() == fb::RequestBody::Report &&
                           script_.wrong_id_at > 0 && reports == script_.wrong_id_at;
        const std::string response = Answer(*req, wrong ? 1000 : 0);
        AppendFrame(response, &out);
        if (first && script_.break_after > 0 && reports == script_.break_after + 1 &&
            cut == std::string::npos) {
          cut = out.size() - response.size() / 2;  // half of this response
        }
      }
      in.erase(0, pos);
      if (cut != std::string::npos) out.resize(cut);
      SendInPieces(fd, out);
      if (cut != std::string::npos) return;  // the break: the connection closes
    }
  }

  // The response to `req`, naming request id + `id_shift`.
  std::string Answer(const fb::Request& req, uint64_t id_shift) {
    flatbuffers::FlatBufferBuilder b(256);
    flatbuffers::Offset<void> body;
    fb::ResponseBody type = fb::ResponseBody::NONE;
    if (req.body_type() == fb::RequestBody::Hello) {
      body = fb::CreateHelloReply(b, kProtocolVersion, b.CreateString("scripted")).Union();
      type = fb::ResponseBody::HelloReply;
    } else if (req.body_type() == fb::RequestBody::Report) {
      const size_t items = req.body_as_Report()->items()->size();
      std::vector<fb::ReportOutcome> outcomes(items, fb::ReportOutcome::APPLIED);
      body = fb::CreateReportReply(b, b.CreateVector(outcomes)).Union();
      type = fb::ResponseBody::ReportReply;
    }
    const bool big = script_.big_message > 0 && req.request_id() % 5 == 0;
    const auto message = b.CreateString(big ? std::string(script_.big_message, 'm') : "");
    fb::ResponseBuilder rb(b);
    rb.add_request_id(req.request_id() + id_shift);
    rb.add_code(fb::Code::OK);
    rb.add_message(message);
    rb.add_body_type(type);
    if (type != fb::ResponseBody::NONE) rb.add_body(body);
    b.Finish(rb.Finish());
    return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  }

  void SendInPieces(int fd, const std::string& out) {
    size_t off = 0;
    while (off < out.size()) {
      size_t piece = out.size() - off;
      if (script_.max_piece > 0) {
        piece = std::min(piece, std::uniform_int_distribution<size_t>(1, script_.max_piece)(rng_));
      }
      const ssize_t n = ::send(fd, out.data() + off, piece, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  Script script_;
  std::mt19937_64 rng_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<uint64_t, int> seen_;  // guarded by mu_
  int connections_ = 0;           // guarded by mu_
};

// `count` single-item reports, through ReportMany against a server running `script`.
void RunReports(const Script& script, size_t count, int expected_connections) {
  const uint64_t seed = testing::TestSeed("net/client scripted server");
  ScriptedServer server(script, seed);
  ClientOptions options;
  options.port = server.port();
  options.timeout_ms = 10'000;
  options.retry_backoff_ms = 1;
  options.client_id = 5;
  auto client = Client::Connect(options);
  REQUIRE(client.ok());
  std::vector<std::vector<ReportItem>> reports;
  for (size_t i = 0; i < count; ++i) reports.push_back({ReportItem{i + 1, 1, {1.0}, 0}});
  auto outcomes = (*client)->ReportMany("p", reports);
  REQUIRE(outcomes.ok());
  REQUIRE(outcomes->size() == count);
  for (const auto& o : *outcomes) CHECK(o == std::vector{ReportOutcome::kApplied});
  client->reset();  // closes the connection: the server's thread finishes it
  // Every request arrived; after a break, only those left unanswered arrived again.
  const auto seen = server.seen();
  CHECK(seen.size() == count);
  size_t twice = 0;
  for (const auto& [id, times] : seen) {
    CHECK(times <= 2);
    if (times == 2) ++twice;
  }
  const bool broken = script.break_after > 0 || script.wrong_id_at > 0;
  if (!broken) CHECK(twice == 0);
  if (broken) CHECK(twice > 0);
  CHECK(server.connections() == expected_connections);
}

TEST_SUITE("net/client") {
  TEST_CASE("pipelined responses split anywhere or several to a segment are read in order") {
    RunReports(Script{.max_piece = 0}, 200, 1);
    RunReports(Script{.max_piece = 1}, 40, 1);
    RunReports(Script{.max_piece = 7}, 200, 1);
    RunReports(Script{.max_piece = 300}, 200, 1);
  }

  TEST_CASE("responses larger than the read-ahead buffer, between small ones") {
    RunReports(Script{.max_piece = 0, .big_message = 200 * 1024}, 60, 1);
    RunReports(Script{.max_piece = 5000, .big_message = 70 * 1024}, 60, 1);
  }

  TEST_CASE("bytes of a broken connection are dropped, the unanswered requests are resent") {
    // The server closes after 10 answers and half of the 11th, with more requests already
    // sent: the client must not read the stale half-answer as the start of the next one.
    RunReports(Script{.max_piece = 0, .break_after = 10}, 100, 2);
    RunReports(Script{.max_piece = 3, .break_after = 3}, 50, 2);
  }

  TEST_CASE("a response naming another request drops the connection and what was read ahead") {
    // 28 more responses are already in the read-ahead buffer then: none of them may answer
    // the Hello or the requests resent on the next connection.
    RunReports(Script{.max_piece = 0, .wrong_id_at = 4}, 100, 2);
  }
}

}  // namespace
}  // namespace heapa::net
