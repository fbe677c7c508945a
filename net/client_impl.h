// net::Client::Impl: the client's connection (connect and Hello, framing, timeouts, resends).
// Private to net/: client.cc builds the requests of each verb on it.
#ifndef HEAPA_NET_CLIENT_IMPL_H_
#define HEAPA_NET_CLIENT_IMPL_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "net/client.h"
#include "net/convert.h"

namespace heapa::net {

using Clock = std::chrono::steady_clock;

// A parsed response that owns its (aligned) bytes.
struct ResponseBuffer {
  std::vector<uint64_t> words;
  const fb::Response* response = nullptr;
};

// A finished request frame body and the request id it carries.
struct OutgoingRequest {
  uint64_t request_id = 0;
  std::string body;
};

class Client::Impl {
 public:
  // Most requests CallMany keeps unanswered on the connection (below the daemon's
  // ServerOptions::max_pending_requests).
  static constexpr size_t kPipelineWindow = 32;

  explicit Impl(const ClientOptions& o) : options_(o) {}
  ~Impl() { Disconnect(); }

  // Connects and says Hello; fills *info. Corruption when the daemon's durable sequence of a
  // pool went backwards (it lost acknowledged writes).
  Status Connect(ServerInfo* info);
  void Disconnect();

  // Builds a finished Request.
  static std::string Finish(Builder& b, uint64_t request_id, const std::string& pool,
                            fb::RequestBody type, flatbuffers::Offset<void> body);
  static std::string Message(const ResponseBuffer& r);

  // Sends one request and reads its response; after a broken connection, reconnects and
  // resends it (every request is safe to resend: a mutation carries its request id), until
  // max_attempts attempts got no response. The response's code as a Status; a resent admin
  // request answered RESOURCE_EXHAUSTED is asked again (its original may be running). A
  // mutation sent but never answered is UnknownOutcome; otherwise the last transport error.
  Status Call(std::string request, bool mutating, bool admin, ServerInfo* info, ResponseBuffer* out,
              const std::string& pool);
  // Pipelined: sends the requests back to back (kPipelineWindow unanswered at most) and reads
  // their responses in order into (*out)[i], their codes into (*statuses)[i]. After a broken
  // connection, reconnects and resends the unanswered ones. Once max_attempts attempts in a
  // row got no response: UnknownOutcome when an unanswered mutation was sent (its message says
  // how many were answered before it, and names the first of those that was refused), else
  // the transport error. OK when every request was answered.
  Status CallMany(const std::vector<OutgoingRequest>& requests, ServerInfo* info,
                  const std::string& pool, std::vector<ResponseBuffer>* out,
                  std::vector<Status>* statuses);

  // One frame out, one response in, by `deadline`.
  Status Exchange(const std::string& request, Clock::time_point deadline, ResponseBuffer* out);

  uint64_t NextRequestId() { return next_request_id_++; }
  // Admin requests (create/drop pools, checkpoint, restore, fork) number apart, from 2^63 + 1:
  // a pool deletes a client's stored results by counting its requests, which they never reach.
  uint64_t NextAdminRequestId() { return next_admin_request_id_++; }
  uint64_t DurableSeq(const std::string& pool) const;

 private:
  Status SendFrame(const std::string& request, Clock::time_point deadline);
  Status ReadResponse(Clock::time_point deadline, ResponseBuffer* out);
  Status SendAll(const std::string& bytes, Clock::time_point deadline);
  // Fills dst with the next `size` bytes of the connection: first those already read ahead
  // into input_, then from the socket. Small reads go through input_, which takes whatever
  // has arrived (up to kInputBytes): a burst of pipelined responses costs a few recv calls,
  // not two per response.
  Status RecvAll(void* dst, size_t size, Clock::time_point deadline);

  static constexpr size_t kInputBytes = 64 * 1024;

  ClientOptions options_;
  int fd_ = -1;
  std::string input_;  // read ahead: input_[input_begin_, input_end_) not yet consumed
  size_t input_begin_ = 0;
  size_t input_end_ = 0;
  uint64_t next_request_id_ = 1;
  uint64_t next_admin_request_id_ = (uint64_t{1} << 63) + 1;
  std::map<std::string, uint64_t> durable_;  // highest durable_seq seen per pool
};

}  // namespace heapa::net

#endif  // HEAPA_NET_CLIENT_IMPL_H_
