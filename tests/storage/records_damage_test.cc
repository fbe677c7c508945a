// Records: damaged bytes (flips, truncations, wrong kinds, random mutation) are Corruption.
#include "tests/storage/records_test_util.h"

namespace heapa::storage {
namespace {
using namespace records_test;  // NOLINT: the shared helpers of these two files

TEST_SUITE("storage/records") {
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
        if (value.decode == decoder.decode) {  // both encodings of the statistics
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
