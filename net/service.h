// net::Service: one request in, one response out; no I/O (the session does that).
//
// Handle() verifies the frame with the FlatBuffers Verifier before touching any field,
// enforces the Hello handshake (version, auth token), maps every request onto the pool API
// and maps Status to wire codes (the one net-side conversion seam, convert.cc).
//
// Pipelining: Begin() applies a request and Complete() waits until what it changed is durable
// and returns the response. A session calls Begin() for its requests one at a time, in order,
// and may have many Complete() calls waiting at once, so its pipelined mutations share fsyncs
// while they still apply in the order sent.
//
// Thread safety: Handle() and Begin() may be called concurrently for different sessions; one
// session's requests are begun one at a time, in order. Complete() may run on any thread.
#ifndef HEAPA_NET_SERVICE_H_
#define HEAPA_NET_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/pool_registry.h"

namespace heapa::net {

class Metrics;

struct ServiceOptions {
  std::string auth_token;  // empty: no authentication
  std::string server_version = "heapa 0.1.0";
  Metrics* metrics = nullptr;  // when set, every request is counted and timed there
  // The requests that read, copy or delete a whole pool (Digest, VerifyIndex, Refresh,
  // Checkpoint, Restore, Fork, PoolDrop) running at once, over all pools and clients. More are
  // refused with RESOURCE_EXHAUSTED (a definite rejection: retry later), so that they never
  // hold every worker while training requests wait. At least 1.
  size_t max_admin_requests = 2;
  // Tests: runs inside each admitted admin request, before it executes.
  std::function<void()> TEST_admin_hook;
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

  // A request applied by Begin(), whose response Complete() finishes.
  class Pending {
   public:
    Pending();
    ~Pending();
    Pending(Pending&&) noexcept;
    Pending& operator=(Pending&&) noexcept;
    // True when the connection must be closed after the response (a failed handshake).
    bool close() const;
    // True when Begin(kDefer) took a slot for a whole-pool request and did not run it.
    bool needs_admin_thread() const;

   private:
    friend class Service;
    struct State;
    std::unique_ptr<State> state_;
  };

  // Where Begin() runs a whole-pool request (ServiceOptions::max_admin_requests), so that a
  // server can keep the threads of short requests free of long ones:
  //   kRunHere   takes a slot (or refuses the request when none is free) and runs it;
  //   kDefer     takes a slot (or refuses) but does not run it: the Pending says
  //              needs_admin_thread(), and the caller must Begin the same body again, with
  //              kAdmitted, on a thread of its choice;
  //   kAdmitted  runs a request whose slot kDefer took, and gives the slot back.
  //              REQUIRES: a kDefer Begin of this body said needs_admin_thread() (else the
  //              slot count goes wrong).
  enum class AdminMode { kRunHere, kDefer, kAdmitted };

  // Verifies and applies one frame body. A mutation's batch is queued, not yet durable.
  Pending Begin(SessionState* session, std::string_view body,
                AdminMode admin_mode = AdminMode::kRunHere);
  // Waits until the request's changes are durable and returns the response body: its result,
  // or UnknownOutcome when the write failed. Counted in the metrics from Begin() on.
  std::string Complete(Pending pending);

  // Complete() without holding a thread for the fsync: calls respond(response) once the
  // request's changes are durable, at once when it changed nothing. `respond` runs on this
  // thread or on the one whose group write decided, and must be quick. When the write
  // failed, the response (UnknownOutcome, after the pool's rebuild) is made by a task given
  // to `offload`, which must run it on a thread that may block.
  using RespondFn = std::function<void(std::string response)>;
  using OffloadFn = std::function<void(std::function<void()> task)>;
  void CompleteWhenDurable(Pending pending, RespondFn respond, OffloadFn offload);

  // Whole-pool requests that may run at once (ServiceOptions::max_admin_requests).
  size_t max_admin_requests() const { return options_.max_admin_requests; }

  // Begin() and Complete() in one: handles one frame body and returns the response body.
  // Sets *close when the connection must be closed after the response is sent.
  std::string Handle(SessionState* session, std::string_view body, bool* close);

  // A response frame body carrying only an error, for transport-level failures.
  static std::string ErrorResponse(ProtocolError error, std::string_view message);

 private:
  // The response of a begun request whose durability is decided (`durable_seq`: the pool's,
  // for the reply); counts it in the metrics.
  std::string Conclude(Pending pending, uint64_t durable_seq);
  // Begin() without the metrics: fills *state (verb 0: not a valid request).
  void Respond(SessionState* session, std::string_view body, AdminMode admin_mode,
               Pending::State* state);

  // Takes one of options_.max_admin_requests slots; false when all are taken.
  bool TakeAdminSlot();

  PoolRegistry* pools_;
  const ServiceOptions options_;
  std::atomic<size_t> admin_running_{0};  // admin requests holding a slot
};

}  // namespace heapa::net

#endif  // HEAPA_NET_SERVICE_H_
