#include "storage/records.h"

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

#include "tests/testutil/test_util.h"

// Header-only xxHash, used only to re-seal mutated payloads so that the FlatBuffers Verifier
// and the semantic checks behind the checksum are reached (records.h: kind | payload | xxh3_64).
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace heapa::storage {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
using Code = Status::Code;
using DecodeFn = Status (*)(std::string_view);

// Overloads by record type, so that the helpers below are generic.
#define HEAPA_TEST_CODEC(R, Name)     \
  std::string Encoded(const R& rec) { \
    std::string out;                  \
    Encode##Name(rec, &out);          \
    return out;                       \
  }                                   \
  Status Decode(std::string_view v, R* rec) { return Decode##Name(v, rec); }
HEAPA_TEST_CODEC(QueryRecord, Query)
HEAPA_TEST_CODEC(StateRecord, State)
HEAPA_TEST_CODEC(StatsRecord, Stats)
HEAPA_TEST_CODEC(ConfigRecord, Config)
HEAPA_TEST_CODEC(CountersRecord, Counters)
HEAPA_TEST_CODEC(OpResultRecord, OpResult)
HEAPA_TEST_CODEC(uint32_t, Format)
HEAPA_TEST_CODEC(uint64_t, Dedup)
HEAPA_TEST_CODEC(double, Edge)
#undef HEAPA_TEST_CODEC

template <typename R>
Status DecodeAs(std::string_view v) {
  R rec{};
  return Decode(v, &rec);
}

// Designated initializers, so that fields appended to a record default instead of shifting.
QueryRecord SampleQuery() {
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
StateRecord SampleState() {
  return {.state = QueryState::kInFlight,
          .prev_state = QueryState::kLow,
          .has_reward = true,
          .reward = 0.5,
          .seq = 99,
          .times_sampled = 3,
          .lease = 12,
          .lease_deadline_ms = 1234};
}
StatsRecord SampleStats() {
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
ConfigRecord SampleConfig() {
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
CountersRecord SampleCounters() {
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
          .rng_inc = 0x12345};
}
OpResultRecord SampleOpResult() {
  return {.kind = OpKind::kSample,
          .ids = {4, 5},
          .codes = {0, 2},
          .lease = 9,
          .lease_deadline_ms = 100,
          .has_rewards = {1, 0},
          .rewards = {0.5, 0}};
}

struct Codec {
  const char* name;
  std::string sample;  // a valid encoding
  DecodeFn decode;
};

std::vector<Codec> AllCodecs() {
  return {
      {"query", Encoded(SampleQuery()), &DecodeAs<QueryRecord>},
      {"state", Encoded(SampleState()), &DecodeAs<StateRecord>},
      {"stats", Encoded(SampleStats()), &DecodeAs<StatsRecord>},
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
void CheckRoundTrip(const R& rec, R back = R{}) {
  const Status s = Decode(Encoded(rec), &back);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(back == rec);
}

void CheckCorruption(const Status& s) {
  INFO(s.ToString());
  CHECK(s.code() == Code::kCorruption);
  CHECK_FALSE(s.message().empty());
}

// Each mutation of `base` must encode to a value that decodes as Corruption.
template <typename R>
void CheckMutationsRejected(const R& base, std::initializer_list<void (*)(R&)> mutations) {
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

std::string Reseal(char kind, std::string_view payload) {
  std::string out(1, kind);
  out.append(payload);
  const uint64_t h = XXH3_64bits(out.data(), out.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
  return out;
}
std::string_view PayloadOf(std::string_view v) { return v.substr(1, v.size() - 9); }

// Every position of a small value; head, tail and an even spread of a large one.
std::vector<size_t> Positions(size_t size) {
  std::vector<size_t> out;
  for (size_t i = 0; i < size; ++i) {
    if (size <= 4096 || i < 512 || i >= size - 512 || i % (size / 1024) == 0) out.push_back(i);
  }
  return out;
}

// Flips bytes and truncates; every result must be Corruption. Reports only failures.
void CheckDamageIsCorruption(std::string value, DecodeFn decode) {
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

QueryRecord MaximalQuery() {
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
std::string QueryWithOneParent(bool aligned) {
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

TEST_SUITE("storage/records") {
  TEST_CASE("a value is the kind byte, the payload and the XXH3-64 of both, little-endian") {
    for (const Codec& c : AllCodecs()) {
      CAPTURE(c.name);
      REQUIRE(c.sample.size() > 9);
      CHECK(Reseal(c.sample[0], PayloadOf(c.sample)) == c.sample);
    }
  }

  TEST_CASE("every record type round-trips") {
    CheckRoundTrip(SampleQuery());
    CheckRoundTrip(SampleState());
    CheckRoundTrip(SampleStats());
    CheckRoundTrip(SampleConfig());
    CheckRoundTrip(SampleCounters());
    CheckRoundTrip(SampleOpResult());
    OpResultRecord op;
    op.kind = OpKind::kRecover;
    op.count = ~uint64_t{0};
    CheckRoundTrip(op);
    op = {};
    op.ids = {1, 2};
    op.codes = {1, 0};  // an insert: codes empty or one per id
    CheckRoundTrip(op);
    for (uint32_t v : {0u, 1u, kFormatVersion, 0xffffffffu}) CheckRoundTrip(v);
    for (uint64_t id : {uint64_t{1}, uint64_t{256}, ~uint64_t{0}}) CheckRoundTrip(id);
    for (double d : {0.75, std::numeric_limits<double>::denorm_min(), DBL_MAX}) CheckRoundTrip(d);
  }

  TEST_CASE("a query with only a prompt round-trips and overwrites every field of a record") {
    QueryRecord minimal;
    minimal.prompt = "x";
    CheckRoundTrip(minimal, SampleQuery());
  }

  TEST_CASE("a query with every field at its limit round-trips") { CheckRoundTrip(MaximalQuery()); }

  TEST_CASE("records at their extreme valid values round-trip") {
    for (uint8_t st = 0; st <= kMaxQueryState; ++st) {
      CAPTURE(int{st});
      CheckRoundTrip(StateRecord{.state = static_cast<QueryState>(st),
                                 .prev_state = static_cast<QueryState>(kMaxQueryState - st),
                                 .has_reward = true,
                                 .reward = -0.0,
                                 .seq = ~uint64_t{0},
                                 .times_sampled = ~uint32_t{0},
                                 .lease = 1,
                                 .lease_deadline_ms = INT64_MIN});
    }
    CheckRoundTrip(StateRecord{});
    CheckRoundTrip(StatsRecord{});
    const double big = DBL_MAX;
    CheckRoundTrip(
        StatsRecord{.reports = ~uint64_t{0},
                    .rollouts = ~uint64_t{0},
                    .mean = -big,
                    .m2 = big,
                    .min = -big,
                    .max = std::numeric_limits<double>::denorm_min(),
                    .zero_variance_streak = ~uint32_t{0},
                    .last_step = INT64_MAX,
                    .last_report_lease = ~uint64_t{0},
                    .last_group_mean = big,
                    .has_est_reward = true,
                    .est_reward = -big,
                    .recent_leases = std::vector<uint64_t>(kRecentLeases, ~uint64_t{0})});
    for (double f : {0.05, 0.95}) {
      CheckRoundTrip(ConfigRecord{.max_size = 1, .low_fraction = f, .default_lease_ms = 1});
    }
    const uint64_t m = ~uint64_t{0};
    CheckRoundTrip(CountersRecord{m, m, m, m, m, m, m, m, m, m, m, m, m});
  }

  TEST_CASE("a query beyond any size limit or with a bad field is Corruption") {
    CheckMutationsRejected<QueryRecord>(
        SampleQuery(), {
                           [](QueryRecord& q) { q.prompt.clear(); },
                           [](QueryRecord& q) { q.prompt.assign(kMaxPromptBytes + 1, 'p'); },
                           [](QueryRecord& q) { q.answer.assign(kMaxAnswerBytes + 1, 'a'); },
                           [](QueryRecord& q) { q.source.assign(kMaxSourceBytes + 1, 's'); },
                           [](QueryRecord& q) { q.tokens.assign(kMaxTokens + 1, 1); },
                           [](QueryRecord& q) {
                             q.meta.assign(kMaxMetaEntries + 1, {"k", "v"});
                           },
                           [](QueryRecord& q) { q.parents.assign(kMaxParents + 1, 1); },
                           [](QueryRecord& q) { q.origin = static_cast<Origin>(2); },
                           [](QueryRecord& q) { q.policy_difficulty = 0; },
                           [](QueryRecord& q) { q.policy_difficulty = -1; },
                           [](QueryRecord& q) { q.policy_difficulty = kNaN; },
                           [](QueryRecord& q) { q.policy_difficulty = kInf; },
                       });
  }

  // records.h: kMaxMetaBytes is among the limits "enforced when decoding (a record beyond them
  // is Corruption)". Regression: DecodeQuery once checked only the number of meta entries.
  TEST_CASE("a query whose meta keys and values exceed kMaxMetaBytes is Corruption") {
    CheckMutationsRejected<QueryRecord>(SampleQuery(), {[](QueryRecord& q) {
                                          q.meta = {{"a", std::string(kMaxMetaBytes / 2, 'x')},
                                                    {"b", std::string(kMaxMetaBytes / 2, 'y')}};
                                        }});
  }

  // DecodeQuery copies the payload to 8-byte-aligned memory, but then reads parents()
  // element-wise with a plain 8-byte load; with the vector at 4 mod 8 this is a misaligned load
  // (undefined behaviour: UBSan aborts here, strict-alignment CPUs may fault).
  TEST_CASE("a query whose parents vector is misaligned is Corruption") {
    const char kind = Encoded(SampleQuery())[0];
    QueryRecord q;
    HEAPA_REQUIRE_OK(Decode(Reseal(kind, QueryWithOneParent(true)), &q));
    REQUIRE(q.parents == std::vector<uint64_t>{0x8877665544332211});
    CheckCorruption(Decode(Reseal(kind, QueryWithOneParent(false)), &q));
  }

  TEST_CASE("a state that breaks a state rule is Corruption") {
    CheckMutationsRejected<StateRecord>(
        SampleState(),
        {
            [](StateRecord& s) { s = {QueryState::kLow, {}, false, 0.5, 1, 0, 0, 0}; },
            [](StateRecord& s) { s = {QueryState::kHigh, {}, false, 0.5, 1, 0, 0, 0}; },
            [](StateRecord& s) { s.reward = kNaN; },
            [](StateRecord& s) { s.reward = kInf; },
            [](StateRecord& s) { s = {QueryState::kCold, {}, true, -kInf, 1, 0, 0, 0}; },
            [](StateRecord& s) { s.lease = 0; },
            [](StateRecord& s) { s.state = static_cast<QueryState>(kMaxQueryState + 1); },
            [](StateRecord& s) { s.prev_state = static_cast<QueryState>(255); },
        });
  }

  TEST_CASE("stats with a bad moment, too many reports or too many leases are Corruption") {
    CheckMutationsRejected<StatsRecord>(
        SampleStats(), {
                           [](StatsRecord& s) { s.mean = kNaN; },
                           [](StatsRecord& s) { s.m2 = kInf; },
                           [](StatsRecord& s) { s.m2 = -1; },
                           [](StatsRecord& s) { s.min = -kInf; },
                           [](StatsRecord& s) { s.max = kNaN; },
                           [](StatsRecord& s) { s.last_group_mean = kInf; },
                           [](StatsRecord& s) { s.est_reward = kNaN; },
                           [](StatsRecord& s) { s.reports = s.rollouts + 1; },
                           [](StatsRecord& s) { s.recent_leases.assign(kRecentLeases + 1, 1); },
                       });
  }

  TEST_CASE("a config out of range is Corruption") {
    CheckMutationsRejected<ConfigRecord>(
        SampleConfig(),
        {
            [](ConfigRecord& c) { c.max_size = 0; },
            [](ConfigRecord& c) { c.low_fraction = 0.0499; },
            [](ConfigRecord& c) { c.low_fraction = 0.9501; },
            [](ConfigRecord& c) { c.low_fraction = -0.5; },
            [](ConfigRecord& c) { c.low_fraction = kNaN; },
            [](ConfigRecord& c) { c.low_fraction = kInf; },
            [](ConfigRecord& c) { c.default_lease_ms = 0; },
            [](ConfigRecord& c) { c.default_lease_ms = -1; },
            [](ConfigRecord& c) { c.sampling = static_cast<SamplingMode>(2); },
            [](ConfigRecord& c) { c.eviction = static_cast<EvictionPolicy>(2); },
            [](ConfigRecord& c) { c.refresh = static_cast<RefreshMode>(3); },
            [](ConfigRecord& c) { c.path_weighting = static_cast<PathWeighting>(2); },
            [](ConfigRecord& c) { c.path_temperature = 0; },
            [](ConfigRecord& c) { c.path_temperature = -1; },
            [](ConfigRecord& c) { c.path_temperature = kNaN; },
            [](ConfigRecord& c) { c.path_temperature = kInf; },
        });
  }

  TEST_CASE("counters with a zero next value or an even rng_inc, or dedup id 0, are Corruption") {
    CheckMutationsRejected<CountersRecord>(SampleCounters(),
                                           {
                                               [](CountersRecord& c) { c.next_id = 0; },
                                               [](CountersRecord& c) { c.next_seq = 0; },
                                               [](CountersRecord& c) { c.next_lease = 0; },
                                               [](CountersRecord& c) { c.rng_inc = 0; },
                                               [](CountersRecord& c) { c.rng_inc = 0x12346; },
                                           });
    CheckCorruption(DecodeAs<uint64_t>(Encoded(uint64_t{0})));
  }

  TEST_CASE("an op result with an unknown kind or columns of different lengths is Corruption") {
    CheckMutationsRejected<OpResultRecord>(
        SampleOpResult(), {
                              [](OpResultRecord& r) { r.kind = OpKind{0}; },
                              [](OpResultRecord& r) { r.kind = OpKind{8}; },
                              [](OpResultRecord& r) { r.codes.pop_back(); },
                              [](OpResultRecord& r) { r.has_rewards.clear(); },
                              [](OpResultRecord& r) { r.rewards.push_back(1); },
                              [](OpResultRecord& r) {
                                r.kind = OpKind::kReport;  // codes: none or one per id
                                r.codes = {1, 1, 1};
                              },
                          });
  }

  TEST_CASE("an edge whose difficulty is not a finite positive number is Corruption") {
    for (double d : {0.0, -0.0, -1.0, kNaN, kInf, -kInf}) {
      CAPTURE(d);
      CheckCorruption(DecodeAs<double>(Encoded(d)));
    }
  }

  TEST_CASE("every flipped byte and every truncation of a small record is Corruption") {
    QueryRecord minimal;
    minimal.prompt = "x";
    CheckDamageIsCorruption(Encoded(minimal), &DecodeAs<QueryRecord>);
    for (const Codec& c : AllCodecs()) {
      CAPTURE(c.name);
      CheckDamageIsCorruption(c.sample, c.decode);
    }
  }

  TEST_CASE("sampled flipped bytes and truncations of a maximal query are Corruption") {
    CheckDamageIsCorruption(Encoded(MaximalQuery()), &DecodeAs<QueryRecord>);
  }

  TEST_CASE("a value of one kind decoded as another kind is Corruption") {
    const std::vector<Codec> codecs = AllCodecs();
    for (const Codec& value : codecs) {
      for (const Codec& decoder : codecs) {
        CAPTURE(value.name);
        CAPTURE(decoder.name);
        const Status s = decoder.decode(value.sample);
        if (&value == &decoder) {
          CHECK(s.ok());
        } else {
          CheckCorruption(s);
          CHECK(s.message().find("kind") != std::string_view::npos);
        }
      }
    }
  }

  TEST_CASE("a re-sealed empty or foreign payload is Corruption or valid, never a crash") {
    const std::vector<Codec> codecs = AllCodecs();
    for (const Codec& decoder : codecs) {
      CAPTURE(decoder.name);
      const char kind = decoder.sample[0];
      CheckCorruption(decoder.decode(Reseal(kind, "")));
      CheckCorruption(decoder.decode(Reseal(kind, "abc")));
      for (const Codec& value : codecs) {
        const Status s = decoder.decode(Reseal(kind, PayloadOf(value.sample)));
        CHECK((s.ok() || s.code() == Code::kCorruption));
      }
    }
  }

  TEST_CASE("randomly mutated payloads with a valid checksum decode or fail cleanly") {
    std::mt19937_64 rng(heapa::testing::TestSeed("records mutated payloads"));
    for (const Codec& c : AllCodecs()) {
      CAPTURE(c.name);
      const std::string payload(PayloadOf(c.sample));
      int rejected = 0;
      for (int iter = 0; iter < 3000; ++iter) {
        std::string p = payload;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
          const uint64_t r = rng();
          if (r % 16 == 0) {
            p.resize(rng() % (p.size() + 8), static_cast<char>(r >> 8));
          } else if (!p.empty()) {
            static constexpr char kSpecial[] = {'\0', '\x01', '\x7f', '\x80', '\xff'};
            p[rng() % p.size()] = r % 3 == 0 ? kSpecial[(r >> 8) % 5] : static_cast<char>(r >> 16);
          }
        }
        const Status s = c.decode(Reseal(c.sample[0], p));
        if (!s.ok() && s.code() != Code::kCorruption) FAIL_CHECK(s.ToString());
        rejected += !s.ok();
      }
      CHECK(rejected > 0);
    }
  }

  TEST_CASE("ContentHash is deterministic and separates prompt from answer") {
    CHECK(ContentHash("ab", "c") == ContentHash("ab", "c"));
    CHECK_FALSE(ContentHash("ab", "c") == ContentHash("a", "bc"));
    CHECK_FALSE(ContentHash("", "x") == ContentHash("x", ""));
    CHECK_FALSE(ContentHash("p", "a") == ContentHash("p", "b"));
    CHECK_FALSE(ContentHash("p", "") == ContentHash("q", ""));
    const Hash128 h = ContentHash("What is 2+2?", "4");
    CHECK(h.high != h.low);
    CHECK(DedupKey(h).size() == 17);
  }

  TEST_CASE("QueryStateName names every state") {
    const char* names[] = {"COLD",     "LOW",     "HIGH",     "IN_FLIGHT",
                           "ARCHIVED", "PENDING", "REJECTED", "EVICTED"};
    for (uint8_t st = 0; st <= kMaxQueryState; ++st) {
      CHECK(QueryStateName(static_cast<QueryState>(st)) == names[st]);
    }
    CHECK(QueryStateName(static_cast<QueryState>(kMaxQueryState + 1)) == "UNKNOWN");
  }
}

}  // namespace
}  // namespace heapa::storage
