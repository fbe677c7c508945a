// net::Service: one request in, one response out; no I/O (the session does that).
//
// Handle() verifies the frame with the FlatBuffers Verifier before touching any field,
// enforces the Hello handshake (version, auth token), maps every request onto the pool API
// and maps Status to wire codes (the one net-side conversion seam, convert.cc).
//
// Thread safety: Handle() may be called concurrently for different sessions; one session's
// requests are handled one at a time, in order.
#ifndef HEAPA_NET_SERVICE_H_
#define HEAPA_NET_SERVICE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "net/pool_registry.h"

namespace heapa::net {

class Metrics;

struct ServiceOptions {
  std::string auth_token;  // empty: no authentication
  std::string server_version = "heapa 0.1.0";
  Metrics* metrics = nullptr;  // when set, every request is counted and timed there
};

// Per-connection protocol state.
struct SessionState {
  bool greeted = false;
  uint64_t client_id = 0;
};

// Transport-level failures that get a response without a request to answer.
enum class ProtocolError { kFrameTooLarge, kTooManyConnections, kBadRequest };

class Service {
 public:
  Service(PoolRegistry* pools, ServiceOptions options)
      : pools_(pools), options_(std::move(options)) {}

  // Handles one frame body and returns the response body. Sets *close when the connection
  // must be closed after the response is sent (a failed handshake).
  std::string Handle(SessionState* session, std::string_view body, bool* close);

  // A response frame body carrying only an error, for transport-level failures.
  static std::string ErrorResponse(ProtocolError error, std::string_view message);

 private:
  // Handle() without the metrics; *verb is the request kind (0: not a valid request).
  std::string Respond(SessionState* session, std::string_view body, bool* close, int* verb);

  PoolRegistry* pools_;
  const ServiceOptions options_;
};

}  // namespace heapa::net

#endif  // HEAPA_NET_SERVICE_H_
