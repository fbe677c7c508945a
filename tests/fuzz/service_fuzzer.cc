// fuzz_service: request verification, validation and dispatch through net::Service::Handle,
// on real pools in a scratch directory (reliability-plan §4.4 C2). No socket: Handle is what
// the session calls with each frame body.
//
// Per input: a fresh data directory with pool "p" (8 queries, half of them scored), a session
// greeted with a valid Hello, then the input as a sequence of frames (4-byte little-endian
// length, then that many bytes; a short last frame takes what is left), each handed to Handle
// as a request body, at most kMaxRequests. Checks: every response is a Response that passes
// the Verifier and echoes the request id of a request that verified; a greeted session is
// never told to close; the pools stay consistent with their storage (VerifyIndex).
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "index/pool.h"
#include "net/frame.h"
#include "net/pool_registry.h"
#include "net/service.h"
#include "protocol_generated.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/scratch_dir.h"

namespace heapa::fuzz {
namespace {

constexpr int kMaxRequests = 16;

std::string HelloBody() {
  flatbuffers::FlatBufferBuilder b;
  const auto h = net::fb::CreateHello(b, net::kProtocolVersion, /*client_id=*/7);
  b.Finish(net::fb::CreateRequest(b, 1, 0, net::fb::RequestBody::Hello, h.Union()));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

// The request id of a body that is a valid Request, or nullopt.
std::optional<uint64_t> RequestId(std::string_view body) {
  std::vector<uint64_t> words(body.size() / 8 + 1);
  std::memcpy(words.data(), body.data(), body.size());
  const auto* p = reinterpret_cast<const uint8_t*>(words.data());
  flatbuffers::Verifier v(p, body.size(), 64, 1u << 22);
  if (!net::fb::VerifyRequestBuffer(v)) return std::nullopt;
  return net::fb::GetRequest(p)->request_id();
}

// Checks a response and returns its code.
net::fb::Code CheckResponse(const std::string& response, std::optional<uint64_t> request_id) {
  std::vector<uint64_t> words(response.size() / 8 + 1);
  std::memcpy(words.data(), response.data(), response.size());
  const auto* p = reinterpret_cast<const uint8_t*>(words.data());
  flatbuffers::Verifier v(p, response.size(), 64, 1u << 22);
  HEAPA_FUZZ_CHECK(v.VerifyBuffer<net::fb::Response>(nullptr), "the response does not verify");
  const auto* r = flatbuffers::GetRoot<net::fb::Response>(p);
  if (request_id) {
    HEAPA_FUZZ_CHECK(r->request_id() == *request_id,
                     "response id " + std::to_string(r->request_id()) + " for request " +
                         std::to_string(*request_id));
  }
  return r->code();
}

}  // namespace
}  // namespace heapa::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace heapa;
  using namespace heapa::fuzz;
  ScratchDir dir;
  int64_t now_ms = 1'000'000;
  PoolOptions base;
  base.sync = false;  // the target is about input handling; Close() still persists everything
  base.clock_ms = [&now_ms] { return now_ms += 10; };
  base.write_buffer_bytes = 1 << 20;
  base.max_batch = 256;
  base.max_rollouts = 64;
  auto registry = net::PoolRegistry::Open(dir.path(), base);
  HEAPA_FUZZ_CHECK(registry.ok(), registry.status().ToString());
  PoolConfig config;
  config.max_size = 16;
  config.rng_seed = 42;
  config.default_lease_ms = 1000;
  const Status created = (*registry)->Create("p", config);
  HEAPA_FUZZ_CHECK(created.ok(), created.ToString());
  {
    auto pool = (*registry)->Find("p");
    HEAPA_FUZZ_CHECK(pool.ok(), pool.status().ToString());
    std::vector<NewQuery> queries(8);
    for (size_t i = 0; i < queries.size(); ++i) {
      queries[i].prompt = "q" + std::to_string(i);
      queries[i].answer = "a" + std::to_string(i);
      if (i % 2) queries[i].reward = static_cast<double>(i) / 8.0;
    }
    const auto inserted = (*pool)->Insert(queries);
    HEAPA_FUZZ_CHECK(inserted.ok(), inserted.status().ToString());
  }

  net::Service service(registry->get(), net::ServiceOptions{});
  net::SessionState session;
  bool close = false;
  const std::string hello = HelloBody();
  HEAPA_FUZZ_CHECK(CheckResponse(service.Handle(&session, hello, &close), 1) == net::fb::Code::OK &&
                       !close && session.greeted,
                   "the Hello was refused");

  Bytes in(data, size);
  for (int i = 0; i < kMaxRequests && !in.empty(); ++i) {
    const std::string_view header = in.Take(net::kFrameHeaderBytes);
    size_t length = in.remaining();
    if (header.size() == net::kFrameHeaderBytes) {
      length = std::min<size_t>(
          length, net::DecodeFrameLength(reinterpret_cast<const unsigned char*>(header.data())));
    }
    const std::string_view body = in.Take(length);
    const std::optional<uint64_t> rid = RequestId(body);
    const std::string response = service.Handle(&session, body, &close);
    CheckResponse(response, rid ? rid : std::optional<uint64_t>(0));
    HEAPA_FUZZ_CHECK(!close, "a greeted session was told to close");
  }

  for (const std::string& name : (*registry)->Names()) {
    auto pool = (*registry)->Find(name);
    HEAPA_FUZZ_CHECK(pool.ok(), pool.status().ToString());
    const Status v = (*pool)->VerifyIndex();
    HEAPA_FUZZ_CHECK(v.ok(), "pool " + name + ": " + v.ToString());
  }
  const Status closed = (*registry)->CloseAll();
  HEAPA_FUZZ_CHECK(closed.ok(), closed.ToString());
  return 0;
}
