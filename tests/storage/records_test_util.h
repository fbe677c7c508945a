// Shared helpers of the records tests: sample records, codec lists, damage checks.
#ifndef HEAPA_TESTS_STORAGE_RECORDS_TEST_UTIL_H_
#define HEAPA_TESTS_STORAGE_RECORDS_TEST_UTIL_H_

#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/records.h"
#include "tests/testutil/test_util.h"

// Header-only xxHash, used only to re-seal mutated payloads so that the FlatBuffers Verifier
// and the semantic checks behind the checksum are reached (records.h: kind | payload | xxh3_64).
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace heapa::storage::records_test {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
using Code = Status::Code;
using DecodeFn = Status (*)(std::string_view);

// Overloads by record type, so that the helpers below are generic.
#define HEAPA_TEST_CODEC(R, Name)            \
  inline std::string Encoded(const R& rec) { \
    std::string out;                         \
    Encode##Name(rec, &out);                 \
    return out;                              \
  }                                          \
  inline Status Decode(std::string_view v, R* rec) { return Decode##Name(v, rec); }
HEAPA_TEST_CODEC(QueryRecord, Query)
HEAPA_TEST_CODEC(StateRecord, State)
HEAPA_TEST_CODEC(StateChunkRecord, StateChunk)
HEAPA_TEST_CODEC(StateJournalRecord, StateJournal)
HEAPA_TEST_CODEC(StatsRecord, Stats)
HEAPA_TEST_CODEC(ConfigRecord, Config)
HEAPA_TEST_CODEC(CountersRecord, Counters)
HEAPA_TEST_CODEC(OpResultRecord, OpResult)
HEAPA_TEST_CODEC(uint32_t, Format)
HEAPA_TEST_CODEC(uint64_t, Dedup)
HEAPA_TEST_CODEC(double, Edge)
#undef HEAPA_TEST_CODEC

template <typename R>
inline Status DecodeAs(std::string_view v) {
  R rec{};
  return Decode(v, &rec);
}

// Designated initializers, so that fields appended to a record default instead of shifting.
inline QueryRecord SampleQuery() {
  return {.prompt = "What is 2+2?",
          .answer = "4",
          .source = "gsm8k",
          .origin = Origin::kAugmented,
          .tokens = {1, 2, 3, 0xffffffff},
          .meta = {{"lang", "en"}, {"split", "train"}},
          .created_step = 17,
          .created_ms = 1'700'000'000'000,
          .policy_difficulty = 0.25,
          .parents = {3, 9}};
}
inline StateRecord SampleState() {
  return {.state = QueryState::kInFlight,
          .prev_state = QueryState::kLow,
          .has_reward = true,
          .reward = 0.5,
          .seq = 99,
          .times_sampled = 3,
          .lease = 12,
          .lease_deadline_ms = 1234};
}
inline StateChunkRecord SampleChunk() {
  StateChunkRecord c;
  c.first_id = kStateChunkIds + 1;
  c.as_of = 42;
  c.slots = {StateRecord{}, SampleState(), StateRecord{}};
  return c;
}

inline StateJournalRecord SampleJournal() {
  StateJournalRecord j;
  j.seq = 43;
  j.entries = {{3, SampleState()}, {kStateChunkIds + 2, StateRecord{}}};
  return j;
}

inline StatsRecord SampleStats() {
  return {.reports = 2,
          .rollouts = 16,
          .mean = 0.5,
          .m2 = 1.25,
          .min = 0,
          .max = 1,
          .zero_variance_streak = 1,
          .last_step = 40,
          .last_report_lease = 12,
          .last_group_mean = 0.625,
          .has_est_reward = true,
          .est_reward = 0.6,
          .recent_leases = {11, 12}};
}
inline ConfigRecord SampleConfig() {
  return {.max_size = 100000,
          .low_fraction = 0.5,
          .sampling = SamplingMode::kMixed,
          .eviction = EvictionPolicy::kExtremes,
          .reinsert_below = 3,
          .rng_seed = 42,
          .default_lease_ms = 600000,
          .refresh = RefreshMode::kPath,
          .path_weighting = PathWeighting::kLinear,
          .path_temperature = 0.5,
          .inverse_adjust = true};
}
inline CountersRecord SampleCounters() {
  return {.next_id = 10,
          .next_seq = 20,
          .next_lease = 5,
          .durable_seq = 19,
          .total_added = 9,
          .total_duplicates = 1,
          .total_sampled = 30,
          .total_reports = 7,
          .total_reinserted = 2,
          .total_expired = 1,
          .rng_state = 0xdeadbeefcafe,
          .rng_inc = 0x12345,
          .abandoned_leases_from = 3,
          .abandoned_leases_to = 5};
}
inline OpResultRecord SampleOpResult() {
  return {.kind = OpKind::kSample,
          .ids = {4, 5},
          .codes = {0, 2},
          .lease = 9,
          .lease_deadline_ms = 100,
          .has_rewards = {1, 0},
          .rewards = {0.5, 0}};
}

// The FlatBuffer statistics of formats 2 and 3, which format 4 still reads.
inline std::string EncodedFormat3(const StatsRecord& rec) {
  std::string v;
  EncodeStatsFormat3(rec, &v);
  return v;
}

struct Codec {
  const char* name;
  std::string sample;  // a valid encoding
  DecodeFn decode;
};

inline std::vector<Codec> AllCodecs() {
  return {
      {"query", Encoded(SampleQuery()), &DecodeAs<QueryRecord>},
      {"state", Encoded(SampleState()), &DecodeAs<StateRecord>},
      {"state chunk", Encoded(SampleChunk()), &DecodeAs<StateChunkRecord>},
      {"state journal", Encoded(SampleJournal()), &DecodeAs<StateJournalRecord>},
      {"stats", Encoded(SampleStats()), &DecodeAs<StatsRecord>},
      {"stats (format 3)", EncodedFormat3(SampleStats()), &DecodeAs<StatsRecord>},
      {"config", Encoded(SampleConfig()), &DecodeAs<ConfigRecord>},
      {"counters", Encoded(SampleCounters()), &DecodeAs<CountersRecord>},
      {"op result", Encoded(SampleOpResult()), &DecodeAs<OpResultRecord>},
      {"format", Encoded(kFormatVersion), &DecodeAs<uint32_t>},
      {"dedup", Encoded(uint64_t{77}), &DecodeAs<uint64_t>},
      {"edge", Encoded(0.75), &DecodeAs<double>},
  };
}

// Decodes into `back` (default or a prior record that must be overwritten).
template <typename R>
inline void CheckRoundTrip(const R& rec, R back = R{}) {
  const Status s = Decode(Encoded(rec), &back);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(back == rec);
}

inline void CheckCorruption(const Status& s) {
  INFO(s.ToString());
  CHECK(s.code() == Code::kCorruption);
  CHECK_FALSE(s.message().empty());
}

// Each mutation of `base` must encode to a value that decodes as Corruption.
template <typename R>
inline void CheckMutationsRejected(const R& base, std::initializer_list<void (*)(R&)> mutations) {
  REQUIRE(DecodeAs<R>(Encoded(base)).ok());
  int index = 0;
  for (auto mutate : mutations) {
    const int mutation = index++;
    CAPTURE(mutation);
    R rec = base;
    mutate(rec);
    CheckCorruption(DecodeAs<R>(Encoded(rec)));
  }
}

inline std::string Reseal(char kind, std::string_view payload) {
  std::string out(1, kind);
  out.append(payload);
  const uint64_t h = XXH3_64bits(out.data(), out.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
  return out;
}
inline std::string_view PayloadOf(std::string_view v) { return v.substr(1, v.size() - 9); }

// Every position of a small value; head, tail and an even spread of a large one.
inline std::vector<size_t> Positions(size_t size) {
  std::vector<size_t> out;
  for (size_t i = 0; i < size; ++i) {
    if (size <= 4096 || i < 512 || i >= size - 512 || i % (size / 1024) == 0) out.push_back(i);
  }
  return out;
}

// Flips bytes and truncates; every result must be Corruption. Reports only failures.
inline void CheckDamageIsCorruption(std::string value, DecodeFn decode) {
  static constexpr unsigned kMasks[] = {1, 0xff, 2, 4, 8, 16, 32, 64, 128};
  const std::span<const unsigned> masks(kMasks, value.size() <= 4096 ? 9 : 2);
  for (size_t pos : Positions(value.size())) {
    for (unsigned mask : masks) {
      value[pos] = static_cast<char>(value[pos] ^ mask);
      const Status s = decode(value);
      value[pos] = static_cast<char>(value[pos] ^ mask);
      if (s.code() != Code::kCorruption) FAIL_CHECK("flip at " << pos << ": " << s.ToString());
    }
    const Status t = decode(std::string_view(value).substr(0, pos));
    if (t.code() != Code::kCorruption) FAIL_CHECK("truncated to " << pos << ": " << t.ToString());
  }
  CheckCorruption(decode(value + '\0'));
  CHECK(decode(value).ok());
}

inline QueryRecord MaximalQuery() {
  QueryRecord q;
  q.prompt.assign(kMaxPromptBytes, 'p');
  q.prompt[0] = '\0';  // strings are byte strings, not C strings
  q.answer.assign(kMaxAnswerBytes, '\xff');
  q.source.assign(kMaxSourceBytes, 's');
  q.tokens.assign(kMaxTokens, 0xffffffff);
  for (size_t i = 0; i < kMaxMetaEntries; ++i) {  // exactly kMaxMetaBytes in total
    const std::string key = "k" + std::to_string(100000 + i);
    q.meta.emplace_back(key, std::string(kMaxMetaBytes / kMaxMetaEntries - key.size(), 'v'));
  }
  q.parents.assign(kMaxParents, std::numeric_limits<uint64_t>::max());
  q.created_step = std::numeric_limits<int64_t>::min();
  q.created_ms = std::numeric_limits<int64_t>::max();
  q.policy_difficulty = std::numeric_limits<double>::max();
  return q;
}

// A hand-built Query FlatBuffer with prompt "x" and one parent whose 8 bytes start at payload
// offset 56 (aligned) or 52 (misaligned). FlatBuffers 2.0.8's Verifier checks the 4-byte
// alignment of a vector's length, not the alignment of its 8-byte elements.
inline std::string QueryWithOneParent(bool aligned) {
  const uint32_t vec = aligned ? 52 : 48;
  std::string b;
  auto put = [&b](std::initializer_list<uint32_t> values, int width) {
    for (uint32_t v : values) {
      for (int i = 0; i < width; ++i) b.push_back(static_cast<char>(v >> (8 * i)));
    }
  };
  put({28}, 4);                                    // root: the table at 28
  put({24, 12, 4, 0, 0, 0, 0, 0, 0, 0, 0, 8}, 2);  // vtable at 4: sizes, prompt +4, parents +8
  put({24, 40 - 32, vec - 36, 1}, 4);              // table at 28 (vtable 24 before); prompt length
  b.append("x\0\0\0", 4);                          // the prompt at 40, NUL, padding
  b.append(vec - 48, '\0');
  put({1, 0x44332211, 0x88776655}, 4);  // the parents vector at `vec`: one id
  return b;
}

}  // namespace heapa::storage::records_test

#endif  // HEAPA_TESTS_STORAGE_RECORDS_TEST_UTIL_H_
