// net::Client: a blocking client of heapad, used by every tool and by the tests.
//
// One TCP connection, opened with a Hello. Every call sends one request and waits for its
// response, with a timeout (InsertMany, ReportMany and GetMany pipeline several). Mutating
// requests (pool operations, and create/drop pools, checkpoint, restore, fork) carry a request
// id; when the connection breaks (send or receive error, timeout, the daemon restarting), the
// client reconnects, says Hello again and resends the same request with the same id, so the
// daemon returns the result of the first attempt if it was applied (exactly once; for the admin
// requests see storage/request_marker.h). Reads are retried the same way. A mutation sent and
// never answered in max_attempts attempts returns UnknownOutcome.
//
// Thread safety: none; use one Client per thread.
#ifndef HEAPA_NET_CLIENT_H_
#define HEAPA_NET_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "index/pool_options.h"
#include "index/refresh.h"
#include "index/types.h"
#include "storage/pool_dir.h"
#include "storage/result.h"
#include "storage/status.h"

namespace heapa::net {

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7411;
  std::string auth_token;          // needed when the daemon has --auth-token-file
  int64_t timeout_ms = 30000;      // per request (connect, send and receive)
  int max_attempts = 5;            // per request, reconnects included
  int64_t retry_backoff_ms = 100;  // doubled after each failed attempt, capped at 2 s
  // Identifies this client for exactly-once retries; 0 picks a random one. Never reuse one
  // across processes: its request ids would match old results and request markers.
  uint64_t client_id = 0;
  std::string client_name = "heapa-client";
};

// What the daemon said in its Hello reply.
struct ServerInfo {
  uint32_t protocol_version = 0;
  std::string server_version;
  std::vector<std::pair<std::string, uint64_t>> durable_seqs;  // per open pool
};

class Client {
 public:
  // Connects and says Hello. Unavailable when nothing listens; Unauthenticated-style
  // failures come back as FailedPrecondition with the daemon's message.
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ServerInfo& server() const { return server_; }
  uint64_t client_id() const { return options_.client_id; }
  // The highest durable sequence number of `pool` this client has been told (0: none yet).
  uint64_t durable_seq(const std::string& pool) const;

  // ---- Pools of the daemon.
  Result<std::vector<std::string>> ListPools();
  Status CreatePool(const std::string& pool, const PoolConfig& config);
  Status DropPool(const std::string& pool);
  Result<PoolConfig> GetConfig(const std::string& pool);

  // ---- Pool operations (the semantics of index/pool.h).
  Result<std::vector<InsertResult>> Insert(const std::string& pool,
                                           std::span<const NewQuery> queries);
  // Pipelined inserts: one Insert request per element of `batches`, sent back to back (as
  // ReportMany), each batch's results in order. The daemon applies each while the ones before
  // it are written, so a large import costs little more than its writes. Ids follow the order
  // of the batches. Retries and errors as for ReportMany.
  Result<std::vector<std::vector<InsertResult>>> InsertMany(
      const std::string& pool, std::span<const std::vector<NewQuery>> batches);
  Result<std::vector<InsertResult>> InsertChildren(const std::string& pool,
                                                   std::span<const NewChild> children);
  Status Validate(const std::string& pool, QueryId id, bool accept,
                  std::optional<std::string> answer = std::nullopt,
                  std::optional<double> teacher_difficulty = std::nullopt);
  Result<std::vector<SampledQuery>> Sample(const std::string& pool, const SampleRequest& req);
  Result<std::vector<ReportOutcome>> Report(const std::string& pool,
                                            std::span<const ReportItem> items);
  // Pipelined reports: sends each element of `reports` as its own Report request, back to
  // back on the connection, and returns each one's outcomes in order. The daemon applies them
  // in the order sent and lets them share fsyncs, so many small reports cost far fewer round
  // trips and syncs than as many Report calls. After a broken connection the unanswered ones
  // are resent with their request ids (exactly once). A request the daemon rejected makes the
  // call return that error; the others were still applied.
  Result<std::vector<std::vector<ReportOutcome>>> ReportMany(
      const std::string& pool, std::span<const std::vector<ReportItem>> reports);
  Result<size_t> Reinsert(const std::string& pool);
  Result<size_t> Recover(const std::string& pool);
  // nullopt: the pool's configured refresh.
  Result<std::vector<std::pair<QueryId, double>>> Refresh(
      const std::string& pool, const std::optional<index::RefreshOptions>& options);
  Result<QueryInfo> Get(const std::string& pool, QueryId id);
  // Pipelined reads: one Get per id, sent back to back (as ReportMany), the answers in the
  // order of `ids`. The first id the daemon cannot answer fails the call with its error
  // (NotFound for an unknown id), naming the id.
  Result<std::vector<QueryInfo>> GetMany(const std::string& pool, std::span<const QueryId> ids);
  Result<LineageView> Lineage(const std::string& pool, QueryId id, uint32_t max_depth);
  Result<PoolStats> Stats(const std::string& pool);
  Status Checkpoint(const std::string& pool, const std::string& tag);
  Result<std::vector<storage::CheckpointInfo>> ListCheckpoints(const std::string& pool);
  Status Restore(const std::string& pool, const std::string& tag);
  Status Fork(const std::string& pool, const std::string& new_pool,
              const std::optional<std::string>& tag);
  Result<Hash128> Digest(const std::string& pool);
  // OK when the daemon's index of `pool` equals a rebuild from its storage; Corruption naming
  // the first difference otherwise.
  Status VerifyIndex(const std::string& pool);

  // For tests: sends raw bytes as one frame body and returns the raw response body.
  Result<std::string> TEST_RawCall(std::string_view frame_body);
  // For tests: closes the socket, as a network failure would; the next call reconnects.
  void TEST_Disconnect();

  class Impl;  // defined in client.cc

 private:
  Client(const ClientOptions& options, std::unique_ptr<Impl> impl);

  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
  ServerInfo server_;
};

}  // namespace heapa::net

#endif  // HEAPA_NET_CLIENT_H_
