// Records: the envelope, round trips, and the semantic rules of each record.
#include "tests/storage/records_test_util.h"

namespace heapa::storage {
namespace {
using namespace records_test;  // NOLINT: the shared helpers of these two files

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
    CheckRoundTrip(SampleChunk());
    CheckRoundTrip(SampleJournal());
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
    CheckRoundTrip(CountersRecord{m, m, m, m, m, m, m, m, m, m, m, m, m, m, m});
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

  TEST_CASE("statistics: packed (format 4) at their extremes, and read from format 3") {
    StatsRecord extreme{.reports = ~uint64_t{0},
                        .rollouts = ~uint64_t{0},
                        .mean = -0.0,
                        .m2 = DBL_MAX,
                        .min = -DBL_MAX,
                        .max = std::numeric_limits<double>::denorm_min(),
                        .zero_variance_streak = ~uint32_t{0},
                        .last_step = INT64_MIN,
                        .last_report_lease = ~uint64_t{0},
                        .last_group_mean = -1,
                        .has_est_reward = false,
                        .est_reward = 0.25,
                        .recent_leases = {}};
    for (size_t i = 0; i < kRecentLeases; ++i) extreme.recent_leases.push_back(~uint64_t{0} - i);
    for (const StatsRecord& rec : {extreme, SampleStats(), StatsRecord{}}) {
      StatsRecord back;
      HEAPA_REQUIRE_OK(DecodeStats(Encoded(rec), &back));
      CHECK(back == rec);
      CHECK(std::signbit(back.mean) == std::signbit(rec.mean));
      HEAPA_REQUIRE_OK(DecodeStats(EncodedFormat3(rec), &back));
      CHECK(back == rec);
    }
    extreme.last_step = INT64_MAX;
    CheckRoundTrip(extreme);
    // Packed: the kind 'u', and well under the FlatBuffer's size.
    CHECK(Encoded(SampleStats())[0] == 'u');
    CHECK(EncodedFormat3(SampleStats())[0] == 't');
    CHECK(Encoded(SampleStats()).size() < 80);
    CHECK(EncodedFormat3(SampleStats()).size() > 140);
  }

  TEST_CASE("packed statistics with bad flags, lengths or varints are Corruption") {
    const std::string good(PayloadOf(Encoded(SampleStats())));
    const auto decode = [](const std::string& payload) {
      StatsRecord rec;
      return DecodeStats(Reseal('u', payload), &rec);
    };
    HEAPA_REQUIRE_OK(decode(good));
    std::string p = good;
    p[0] = 1;  // an undefined flag
    CheckCorruption(decode(p));
    // The payload is: flags, 2 one-byte varints, 6 doubles, has_est_reward at 51.
    p = good;
    REQUIRE(p[51] == 1);
    p[51] = 2;
    CheckCorruption(decode(p));
    CheckCorruption(decode(good + '\0'));
    CheckCorruption(decode(good.substr(0, good.size() - 1)));
    // 17 leases.
    StatsRecord many = SampleStats();
    many.recent_leases.assign(kRecentLeases + 1, 3);
    std::string value;
    EncodeStats(many, &value);
    CheckCorruption(DecodeStats(value, &many));
    // An 11-byte varint, and a 10-byte one beyond 64 bits, for `reports`.
    for (const std::string& varint :
         {std::string(10, '\x80') + '\x01', std::string(9, '\xff') + '\x02'}) {
      p = good;
      p.replace(1, 1, varint);
      CheckCorruption(decode(p));
    }
    // An over-long varint (a last byte of 0): every value has one encoding. reports = 130 is
    // 0x82 0x01; 0x82 0x00 (2 in two bytes) keeps the length, so only that rule refuses it.
    {
      StatsRecord r = SampleStats();
      r.reports = 130;
      r.rollouts = 130 * 16;
      std::string overlong(PayloadOf(Encoded(r)));
      REQUIRE(overlong.substr(1, 2) == "\x82\x01");
      HEAPA_REQUIRE_OK(decode(overlong));
      overlong[2] = '\0';
      CheckCorruption(decode(overlong));
    }
    // The largest 10-byte varint is 2^64 - 1: reports = rollouts = ~0 decodes.
    p = good;
    p.replace(1, 2, std::string(9, '\xff') + '\x01' + std::string(9, '\xff') + '\x01');
    HEAPA_REQUIRE_OK(decode(p));
    // A zero-variance streak beyond 32 bits (at 52: the varint after has_est_reward).
    p = good;
    REQUIRE(p[52] == 1);
    p.replace(52, 1, "\x80\x80\x80\x80\x10");  // 2^32
    CheckCorruption(decode(p));
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

  TEST_CASE(
      "counters with a zero next value, an even rng_inc or an abandoned lease range out of "
      "order, or dedup id 0, are Corruption") {
    CheckMutationsRejected<CountersRecord>(SampleCounters(),
                                           {
                                               [](CountersRecord& c) { c.next_id = 0; },
                                               [](CountersRecord& c) { c.next_seq = 0; },
                                               [](CountersRecord& c) { c.next_lease = 0; },
                                               [](CountersRecord& c) { c.rng_inc = 0; },
                                               [](CountersRecord& c) { c.rng_inc = 0x12346; },
                                               [](CountersRecord& c) {
                                                 c.abandoned_leases_from = 5;
                                                 c.abandoned_leases_to = 4;
                                               },
                                               [](CountersRecord& c) {
                                                 c.abandoned_leases_to = 6;  // > next_lease
                                               },
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

  TEST_CASE("a state chunk or journal that breaks its rules is Corruption") {
    CheckMutationsRejected<StateChunkRecord>(
        SampleChunk(), {
                           [](StateChunkRecord& c) { c.first_id = 0; },
                           [](StateChunkRecord& c) { c.first_id = 2; },  // not a boundary
                           [](StateChunkRecord& c) {
                             c.first_id = StateChunkFirstId(UINT64_MAX / kStateChunkIds);
                           },
                           [](StateChunkRecord& c) { c.slots.clear(); },
                           [](StateChunkRecord& c) { c.slots.resize(kStateChunkIds + 1); },
                           [](StateChunkRecord& c) { c.slots[1].reward = kNaN; },
                           [](StateChunkRecord& c) { c.slots[0].state = QueryState::kLow; },
                       });
    CheckMutationsRejected<StateJournalRecord>(
        SampleJournal(), {
                             [](StateJournalRecord& j) { j.entries.clear(); },
                             [](StateJournalRecord& j) { j.entries[0].first = 0; },
                             [](StateJournalRecord& j) { std::swap(j.entries[0], j.entries[1]); },
                             [](StateJournalRecord& j) { j.entries[1].first = 3; },  // twice
                             [](StateJournalRecord& j) { j.entries[1].second.reward = kInf; },
                         });
  }
}

}  // namespace
}  // namespace heapa::storage
