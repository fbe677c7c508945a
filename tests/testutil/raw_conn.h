// Raw connections to a test heapad, for protocol abuse, and a ready net::Client.
#ifndef HEAPA_TESTS_TESTUTIL_RAW_CONN_H_
#define HEAPA_TESTS_TESTUTIL_RAW_CONN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/client.h"
#include "protocol_generated.h"
#include "tests/testutil/daemon.h"

namespace heapa::testing {

// A client of `d` with a 10 s timeout and `max_attempts` per request (the client's default
// unless given); fails the test when it cannot connect.
std::unique_ptr<net::Client> ConnectTo(const Daemon& d, uint64_t client_id = 0,
                                       const std::string& token = "",
                                       int max_attempts = net::ClientOptions().max_attempts);

// A raw TCP connection for protocol abuse.
class Raw {
 public:
  explicit Raw(uint16_t port);
  ~Raw();
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  void Send(const std::string& bytes);
  void SendFrame(const std::string& body);
  // The next response's code, or nullopt when the connection closed (or 5 s passed).
  std::optional<net::fb::Code> ReadCode();
  // The next response's request id, code and body type, likewise.
  struct Response {
    uint64_t request_id = 0;
    net::fb::Code code = net::fb::Code::OK;
    net::fb::ResponseBody body_type = net::fb::ResponseBody::NONE;
  };
  std::optional<Response> ReadResponse();
  // True when the daemon closed the connection within 5 s.
  bool Closed();
  // Closes with a TCP reset instead of a FIN.
  void Reset();
  int fd() const { return fd_; }

 private:
  bool ReadAll(void* dst, size_t n);
  int fd_ = -1;
};

// Request bodies.
std::string HelloBody(uint32_t version, const std::string& token = "");
std::string StatsBody(const std::string& pool);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_RAW_CONN_H_
