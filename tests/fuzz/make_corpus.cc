// Writes the seed corpora of the fuzz targets: make_corpus OUT_DIR creates
// OUT_DIR/{frame,service,records,pool_model}/seed-*. Deterministic (fixed seeds). The committed
// corpora are a subset: tests/fuzz/make-corpus.sh writes every seed, then minimises them with
// libFuzzer's -merge=1, which keeps the seeds that add coverage.
// Files found by fuzzing (crashes fixed, regressions) are added by hand as regress-* and are
// never written here.
#include <xxhash.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "net/frame.h"
#include "protocol_generated.h"
#include "storage/records.h"
#include "storage/request_marker.h"

namespace {

using namespace heapa;
namespace fb = heapa::net::fb;
using Builder = flatbuffers::FlatBufferBuilder;

std::filesystem::path g_out;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::filesystem::path dir = g_out / target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / ("seed-" + name), std::ios::binary) << bytes;
}

std::string Bytes(const Builder& b) {
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

template <typename T>
std::string Request(uint64_t rid, const char* pool, fb::RequestBody type,
                    const std::function<flatbuffers::Offset<T>(Builder&)>& body) {
  Builder b;
  const auto off = body(b);
  const auto name = pool ? b.CreateString(pool) : 0;
  b.Finish(fb::CreateRequest(b, rid, name, type, off.Union()));
  return Bytes(b);
}

std::string Frames(const std::vector<std::string>& bodies) {
  std::string out;
  for (const std::string& body : bodies) net::AppendFrame(body, &out);
  return out;
}

// One request of every type, on pool "p" (the service target creates it with 8 queries).
std::vector<std::pair<std::string, std::string>> AllRequests() {
  std::vector<std::pair<std::string, std::string>> r;
  r.emplace_back("hello", Request<fb::Hello>(1, nullptr, fb::RequestBody::Hello, [](Builder& b) {
                   return fb::CreateHello(b, 1, 3, b.CreateString("tok"), b.CreateString("fz"));
                 }));
  r.emplace_back("pool_list", Request<fb::PoolList>(2, nullptr, fb::RequestBody::PoolList,
                                                    [](Builder& b) { return fb::CreatePoolList(b); }));
  r.emplace_back("pool_create", Request<fb::PoolCreate>(3, nullptr, fb::RequestBody::PoolCreate, [](Builder& b) {
                   const auto c = fb::CreatePoolConfig(b, 4, 0.3, fb::SamplingMode::MIXED,
                                                       fb::EvictionPolicy::EXTREMES, 2, 9, 500,
                                                       fb::RefreshMode::PATH, fb::PathWeighting::LINEAR, 2.0, true);
                   return fb::CreatePoolCreate(b, b.CreateString("q2"), c);
                 }));
  r.emplace_back("pool_drop", Request<fb::PoolDrop>(4, nullptr, fb::RequestBody::PoolDrop, [](Builder& b) {
                   return fb::CreatePoolDrop(b, b.CreateString("p"));
                 }));
  r.emplace_back("get_config", Request<fb::GetConfig>(5, "p", fb::RequestBody::GetConfig,
                                                      [](Builder& b) { return fb::CreateGetConfig(b); }));
  r.emplace_back("insert", Request<fb::Insert>(6, "p", fb::RequestBody::Insert, [](Builder& b) {
                   std::vector<flatbuffers::Offset<fb::Query>> qs;
                   const std::vector<uint32_t> tokens = {1, 2, 3};
                   std::vector<flatbuffers::Offset<fb::KeyValue>> meta = {
                       fb::CreateKeyValue(b, b.CreateString("k"), b.CreateString("v"))};
                   qs.push_back(fb::CreateQuery(b, b.CreateString("new 1"), b.CreateString("1"),
                                                b.CreateString("src"), fb::Origin::SEED,
                                                b.CreateVector(tokens), b.CreateVector(meta), true, 0.25, 3));
                   qs.push_back(fb::CreateQuery(b, b.CreateString("new 2"), b.CreateString("2")));
                   qs.push_back(fb::CreateQuery(b, b.CreateString("q0"), b.CreateString("a0")));  // duplicate
                   return fb::CreateInsert(b, b.CreateVector(qs));
                 }));
  r.emplace_back("insert_children", Request<fb::InsertChildren>(7, "p", fb::RequestBody::InsertChildren, [](Builder& b) {
                   const std::vector<uint64_t> parents = {1, 2};
                   std::vector<flatbuffers::Offset<fb::Child>> cs;
                   cs.push_back(fb::CreateChild(b, b.CreateVector(parents), b.CreateString("child"),
                                                b.CreateString("c"), b.CreateString("aug"), 0, 0, 0.5,
                                                true, 0.4, false, 2));
                   cs.push_back(fb::CreateChild(b, b.CreateVector(parents), b.CreateString("child 2"),
                                                b.CreateString("c2"), 0, 0, 0, 2.0, false, 0, true, 2));
                   return fb::CreateInsertChildren(b, b.CreateVector(cs));
                 }));
  r.emplace_back("validate", Request<fb::Validate>(8, "p", fb::RequestBody::Validate, [](Builder& b) {
                   return fb::CreateValidate(b, 9, true, b.CreateString("fixed"), true, 0.7);
                 }));
  r.emplace_back("sample", Request<fb::Sample>(9, "p", fb::RequestBody::Sample, [](Builder& b) {
                   return fb::CreateSample(b, 4, 500, true);
                 }));
  r.emplace_back("report", Request<fb::Report>(10, "p", fb::RequestBody::Report, [](Builder& b) {
                   std::vector<flatbuffers::Offset<fb::ReportItem>> items;
                   for (uint64_t id = 1; id <= 8; ++id) {
                     const std::vector<double> rewards = {1.0, -1.0, 0.5};
                     items.push_back(fb::CreateReportItem(b, id, 1, b.CreateVector(rewards), 4));
                   }
                   return fb::CreateReport(b, b.CreateVector(items));
                 }));
  r.emplace_back("reinsert", Request<fb::Reinsert>(11, "p", fb::RequestBody::Reinsert,
                                                   [](Builder& b) { return fb::CreateReinsert(b); }));
  r.emplace_back("recover", Request<fb::Recover>(12, "p", fb::RequestBody::Recover,
                                                 [](Builder& b) { return fb::CreateRecover(b); }));
  r.emplace_back("refresh", Request<fb::Refresh>(13, "p", fb::RequestBody::Refresh, [](Builder& b) {
                   return fb::CreateRefresh(b, false, fb::RefreshMode::PATH, fb::PathWeighting::SOFTMAX, 0.5, true);
                 }));
  r.emplace_back("get", Request<fb::Get>(14, "p", fb::RequestBody::Get,
                                         [](Builder& b) { return fb::CreateGet(b, 2); }));
  r.emplace_back("lineage", Request<fb::Lineage>(15, "p", fb::RequestBody::Lineage,
                                                 [](Builder& b) { return fb::CreateLineage(b, 9, 4); }));
  r.emplace_back("pool_stats", Request<fb::PoolStats>(16, "p", fb::RequestBody::PoolStats,
                                                      [](Builder& b) { return fb::CreatePoolStats(b); }));
  r.emplace_back("checkpoint", Request<fb::Checkpoint>(17, "p", fb::RequestBody::Checkpoint, [](Builder& b) {
                   return fb::CreateCheckpoint(b, b.CreateString("c1"));
                 }));
  r.emplace_back("list_checkpoints", Request<fb::ListCheckpoints>(18, "p", fb::RequestBody::ListCheckpoints,
                                                                  [](Builder& b) { return fb::CreateListCheckpoints(b); }));
  r.emplace_back("restore", Request<fb::Restore>(19, "p", fb::RequestBody::Restore, [](Builder& b) {
                   return fb::CreateRestore(b, b.CreateString("c1"));
                 }));
  r.emplace_back("fork", Request<fb::Fork>(20, "p", fb::RequestBody::Fork, [](Builder& b) {
                   return fb::CreateFork(b, b.CreateString("f1"), b.CreateString("c1"));
                 }));
  r.emplace_back("digest", Request<fb::Digest>(21, "p", fb::RequestBody::Digest,
                                               [](Builder& b) { return fb::CreateDigest(b); }));
  return r;
}

void FrameSeeds(const std::vector<std::pair<std::string, std::string>>& requests) {
  int n = 0;
  for (const auto& [name, body] : requests) {
    // byte 0: max_frame_bytes choice (5 = the default), byte 1: chunking seed
    Write("frame", name, std::string("\x05", 1) + static_cast<char>(n++) + Frames({body}));
  }
  Write("frame", "two_frames", std::string("\x04\x11") + Frames({requests[0].second, requests[5].second}));
  Write("frame", "too_large", std::string("\x02\x00", 2) + Frames({requests[5].second}));
  Write("frame", "zero_length", std::string("\x05\x01\x00\x00\x00\x00", 6));
  Write("frame", "huge_length", std::string("\x05\x02\xff\xff\xff\xff", 6) + "body");
  Write("frame", "truncated_body", std::string("\x05\x03") + Frames({requests[6].second}).substr(0, 20));
  Write("frame", "truncated_header", std::string("\x05\x04\x10\x00", 4));
  Builder b;
  b.Finish(fb::CreateResponse(b, 7, fb::Code::NOT_FOUND, b.CreateString("no such pool")));
  Write("frame", "response", std::string("\x05\x05") + Frames({Bytes(b)}));
}

void ServiceSeeds(const std::vector<std::pair<std::string, std::string>>& requests) {
  for (const auto& [name, body] : requests) Write("service", name, Frames({body}));
  const auto find = [&](const std::string& name) {
    for (const auto& [n, body] : requests) {
      if (n == name) return body;
    }
    return std::string();
  };
  Write("service", "sample_report_reinsert", Frames({find("sample"), find("report"), find("reinsert"),
                                                      find("sample"), find("pool_stats")}));
  Write("service", "children_validate_lineage", Frames({find("insert_children"), find("validate"),
                                                         find("lineage"), find("refresh"), find("get")}));
  Write("service", "checkpoint_restore_fork", Frames({find("checkpoint"), find("insert"), find("list_checkpoints"),
                                                       find("restore"), find("fork"), find("pool_list"),
                                                       find("digest")}));
  Write("service", "create_drop", Frames({find("pool_create"), find("pool_list"), find("pool_drop"),
                                           find("get_config")}));
  Write("service", "unknown_pool", Frames({Request<fb::Sample>(30, "nope", fb::RequestBody::Sample, [](Builder& b) {
                                     return fb::CreateSample(b, 1);
                                   })}));
  Write("service", "garbage", Frames({"not a flatbuffer at all", std::string(16, '\0')}));
  Write("service", "no_body", Frames({Request<fb::PoolList>(31, "p", fb::RequestBody::NONE, [](Builder&) {
                                return flatbuffers::Offset<fb::PoolList>(0);
                              })}));
}

std::string Unsealed(const std::string& sealed) { return sealed.substr(0, sealed.size() - 8); }

void RecordSeeds() {
  using namespace heapa::storage;
  // Mode byte: low nibble = decoder (0 query, 1 state, 2 stats, 3 config, 4 counters, 5 format,
  // 6 op result, 7 dedup, 8 edge, 9 state chunk, 10 state journal, 11 request marker, 12
  // stats chunk, 13 stats journal); bit 7 =
  // the value carries its own checksum (a request marker has none: it is written raw).
  const auto both = [](const std::string& name, int decoder, const std::string& sealed) {
    Write("records", name, std::string(1, static_cast<char>(decoder)) + Unsealed(sealed));
    Write("records", name + "_raw", std::string(1, static_cast<char>(0x80 | decoder)) + sealed);
  };
  const std::vector<RequestId> marker_ids = {{12, 345}, {7, 1}};
  Write("records", "request_marker",
        std::string(1, static_cast<char>(0x80 | 11)) + FormatRequestMarker(marker_ids));
  std::string v;
  QueryRecord q;
  q.prompt = "What is 2+2?";
  q.answer = "4";
  q.source = "gsm8k";
  EncodeQuery(q, &v);
  both("query_min", 0, v);
  q.origin = Origin::kAugmented;
  q.tokens = {1, 2, 3, 70000};
  q.meta = {{"k", "v"}, {"lang", "en"}};
  q.created_step = 12;
  q.created_ms = 1'700'000'000'000;
  q.policy_difficulty = 0.25;
  q.parents = {3, 4};
  EncodeQuery(q, &v);
  both("query_full", 0, v);
  StateRecord st;
  EncodeState(st, &v);
  both("state_cold", 1, v);
  st = {QueryState::kInFlight, QueryState::kLow, true, -0.5, 9, 3, 17, 1'000'300};
  EncodeState(st, &v);
  both("state_in_flight", 1, v);
  StateChunkRecord chunk;
  chunk.first_id = 4097;
  chunk.as_of = 12;
  chunk.slots = {StateRecord{}, st};
  EncodeStateChunk(chunk, &v);
  both("state_chunk", 9, v);
  StateJournalRecord journal;
  journal.seq = 13;
  journal.entries = {{2, StateRecord{}}, {4098, st}};
  EncodeStateJournal(journal, &v);
  both("state_journal", 10, v);
  StatsRecord s;
  EncodeStats(s, &v);
  both("stats_empty", 2, v);
  s.reports = 2;
  s.rollouts = 8;
  s.mean = 0.25;
  s.m2 = 1.5;
  s.min = -1;
  s.max = 1;
  s.zero_variance_streak = 1;
  s.last_step = 5;
  s.last_report_lease = 4;
  s.last_group_mean = 0.5;
  s.has_est_reward = true;
  s.est_reward = 0.1;
  s.recent_leases = {1, 4};
  EncodeStats(s, &v);
  both("stats_full", 2, v);
  std::string full = v;
  EncodeStatsFormat3(s, &v);  // formats 2 and 3 wrote these; format 4 still reads them
  both("stats_format3", 2, v);
  StatsChunkRecord stats_chunk;
  stats_chunk.first_id = 1025;
  stats_chunk.as_of = 12;
  stats_chunk.slots = {full, "", full};
  EncodeStatsChunk(stats_chunk, &v);
  both("stats_chunk", 12, v);
  StatsJournalRecord stats_journal;
  stats_journal.seq = 13;
  stats_journal.entries = {{2, full}, {300, full}};
  EncodeStatsJournal(stats_journal, &v);
  both("stats_journal", 13, v);
  ConfigRecord c;
  EncodeConfig(c, &v);
  both("config_default", 3, v);
  c = {100, 0.3, SamplingMode::kMixed, EvictionPolicy::kExtremes, 5, 42, 60000,
       RefreshMode::kPath, PathWeighting::kLinear, 0.5, true};
  EncodeConfig(c, &v);
  both("config_full", 3, v);
  CountersRecord n;
  EncodeCounters(n, &v);
  both("counters_new", 4, v);
  n = {10, 20, 5, 33, 9, 1, 12, 0, 4, 2, 1, 0x853c49e6748fea9bULL, 0xda3e39cb94b95bdbULL};
  EncodeCounters(n, &v);
  both("counters_used", 4, v);
  EncodeFormat(1, &v);
  both("format", 5, v);
  OpResultRecord r;
  r.kind = OpKind::kSample;
  r.ids = {1, 2};
  r.codes = {0, 0};
  r.lease = 3;
  r.lease_deadline_ms = 123;
  r.has_rewards = {1, 0};
  r.rewards = {0.5, 0};
  r.count = 2;
  EncodeOpResult(r, &v);
  both("op_result_sample", 6, v);
  r = OpResultRecord{};
  r.kind = OpKind::kInsert;
  r.ids = {7, 8, 9};
  r.codes = {1, 0, 1};
  EncodeOpResult(r, &v);
  both("op_result_insert", 6, v);
  EncodeDedup(77, &v);
  both("dedup", 7, v);
  EncodeEdge(1.5, &v);
  both("edge", 8, v);
}

void PoolModelSeeds() {
  std::mt19937_64 gen(20261126);
  for (int i = 0; i < 30; ++i) {
    std::string s;
    s.push_back(static_cast<char>(i % 7));        // max_size index
    s.push_back(static_cast<char>((i / 7) % 6));  // low_fraction index
    s.push_back(static_cast<char>(i % 8));        // mixed | extremes | continuous rewards
    s.push_back(static_cast<char>(i % 5 == 0 ? 0 : 1));
    s.push_back(static_cast<char>(10 + i));  // reinsert_below when chosen
    const size_t len = 60 + gen() % 500;
    for (size_t k = 0; k < len; ++k) s.push_back(static_cast<char>(gen()));
    Write("pool_model", "random_" + std::to_string(i), s);
  }
  // A hand-made run: insert scored and unscored, sample, report everything, reinsert, reopen.
  const std::string hand = std::string("\x03\x02\x00\x01", 4) +
                           std::string("\x00\x07\x10\x05\x11\x09\x12\x0d\x00\x03\x13\x01\x14\x02", 14) +
                           std::string("\x04\x07\x02", 3) + std::string("\x0a\xff\x00\x02\x08\x03\x08", 7) +
                           std::string("\x08\x0c", 2) + std::string("\x04\x03\x01", 3) +
                           std::string("\x0d\x0e\x0f", 3) + std::string("\x05\x05\x00", 3);
  Write("pool_model", "hand_cycle", hand);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  const auto requests = AllRequests();
  FrameSeeds(requests);
  ServiceSeeds(requests);
  RecordSeeds();
  PoolModelSeeds();
  return 0;
}
