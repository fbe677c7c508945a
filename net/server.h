// net::Server: heapad's TCP front end (Boost.Asio). One I/O thread runs every socket; requests
// execute on a pool of worker threads (a pool operation may wait for the pool's lock, or write
// a group commit for everyone), whole-pool requests on threads of their own. A connection's
// requests apply one at a time, in the order sent, but a mutation's wait for its fsync does
// not hold back the next one: pipelined mutations of one connection share fsyncs (group
// commit, index/pool.h). Responses go back in request order, each only once durable; the
// response to a connection's only outstanding request is sent by the thread that completes it
// (the worker whose group write made it durable, for a mutation), without a hand-off to the
// I/O thread (one wake-up less per request).
//
// Limits, each with its own error or action: max_frame_bytes (checked on the 4-byte header,
// before any allocation: FRAME_TOO_LARGE, then close), max_connections (TOO_MANY_CONNECTIONS,
// then close), idle_timeout_ms (no request started: close), frame_timeout_ms (a started frame
// not complete: close), max_pending_requests and max_output_bytes (reading pauses until the
// client reads its responses: a slow reader slows only itself).
//
// Stop() (also on SIGINT/SIGTERM when HandleSignals() was called): stop accepting, stop
// reading, finish the requests already read, send their responses, close. A connection still
// open shutdown_timeout_ms later (its client reads no responses, or a request takes that
// long) is closed: the requests it has begun still finish, durably, but their responses and
// the requests not yet begun are dropped (a client resends those with their request ids).
// Run() returns once every connection is closed and every begun request has finished.
//
// Thread safety: Stop() and direct_replies() may be called from any thread; everything else
// from one thread.
#ifndef HEAPA_NET_SERVER_H_
#define HEAPA_NET_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "net/service.h"
#include "storage/status.h"

namespace heapa::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7411;  // 0: an ephemeral port (see Server::port())
  size_t max_frame_bytes = 16u << 20;
  size_t max_connections = 1024;
  int64_t idle_timeout_ms = 10 * 60 * 1000;
  int64_t frame_timeout_ms = 30 * 1000;
  size_t max_pending_requests = 64;  // read but not yet answered, per connection
  // Requests of one connection applied and waiting for their fsync at once.
  size_t max_pipelined_writes = 16;
  size_t max_output_bytes = 64u << 20;
  // After Stop(): how long connections may take to answer the requests already read.
  int64_t shutdown_timeout_ms = 10 * 1000;
  // Threads executing requests; 0: one per core, at least 2 and at most 16. A request does not hold
  // its thread while it waits for its fsync (the group write hands the response back), so these
  // apply requests and write groups; more threads than cores only contend for the pools'
  // locks and cost context switches. They may still wait on a pool's lock, on reads, or for
  // the write of a retried request's original.
  // Whole-pool requests (digest, verify, refresh, checkpoint, restore, fork, drop) run on
  // threads of their own, as many as ServiceOptions::max_admin_requests lets run at once, so
  // that they never hold these.
  int worker_threads = 0;
  // Most bytes of a response's frame (its header included) that the thread completing a lone
  // request sends itself; the rest goes through the I/O thread. For tests of that hand-over.
  size_t TEST_max_direct_send_bytes = SIZE_MAX;
};

class Server {
 public:
  Server(Service* service, const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. IOError naming the address when that fails.
  Status Start();
  // The bound port (after Start).
  uint16_t port() const;
  // Responses sent by the thread that completed their request, without a hand-off to the I/O
  // thread (a lone request's, see session.h). May be called from any thread.
  uint64_t direct_replies() const;
  // Stops on SIGINT and SIGTERM.
  void HandleSignals();
  // Serves until Stop(); returns when every connection is closed.
  void Run();
  void Stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace heapa::net

#endif  // HEAPA_NET_SERVER_H_
