// Reading wire vectors whose 8-byte elements sit off their alignment (net/convert.h). The
// FlatBuffers 2.0.8 Verifier accepts such a message; reading it in place is undefined behaviour,
// which the ASan+UBSan tree (.ci/sanitizers asan) reports. Here the values must come out right.
#include "net/convert.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "protocol_generated.h"

namespace heapa::net {
namespace {

// A vector of n elements of `elem_size` bytes (a multiple of 4) holding `bytes`, built from
// 4-byte words so that the builder aligns it to 4 only; `pad` shifts it by one word. Unreferenced
// words in a buffer are allowed, so the message still verifies.
flatbuffers::uoffset_t WordVector(Builder& b, const std::vector<uint8_t>& bytes, size_t n,
                                  bool pad) {
  REQUIRE(bytes.size() % 4 == 0);
  b.PushElement<uint64_t>(0);  // the finished buffer is then 8-aligned, whatever else it holds
  if (pad) b.PushElement<uint32_t>(0);
  const size_t words = bytes.size() / 4;
  b.StartVector(words, sizeof(uint32_t));
  for (size_t i = words; i-- > 0;) {
    uint32_t w;
    std::memcpy(&w, bytes.data() + 4 * i, 4);
    b.PushElement(w);
  }
  return b.EndVector(n);
}

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// Builds a message with `build(b, pad)` for both pads, verifies it as a T on an 8-byte-aligned
// copy, and hands it to `check` for the pad whose vector `data` (of the root) is misaligned.
template <typename T>
void WithMisaligned(const std::function<flatbuffers::Offset<T>(Builder&, bool)>& build,
                    const std::function<const uint8_t*(const T*)>& data,
                    const std::function<void(const T*)>& check) {
  int misaligned = 0;
  for (bool pad : {false, true}) {
    Builder b;
    b.Finish(build(b, pad));
    std::vector<uint64_t> aligned(b.GetSize() / 8 + 1);
    std::memcpy(aligned.data(), b.GetBufferPointer(), b.GetSize());
    const auto* p = reinterpret_cast<const uint8_t*>(aligned.data());
    flatbuffers::Verifier verifier(p, b.GetSize());
    REQUIRE(verifier.VerifyBuffer<T>(nullptr));
    const T* root = flatbuffers::GetRoot<T>(p);
    if (reinterpret_cast<uintptr_t>(data(root)) % 8 == 0) continue;
    ++misaligned;
    check(root);
  }
  REQUIRE(misaligned == 1);  // one of the two pads puts the elements 4 bytes off
}

TEST_CASE("convert: report rewards 4 bytes off their alignment are read whole") {
  const std::vector<double> rewards = {0.25, -1.5, 1e300};
  WithMisaligned<fb::ReportItem>(
      [&](Builder& b, bool pad) {
        const flatbuffers::Offset<flatbuffers::Vector<double>> v(
            WordVector(b, Bytes(rewards), rewards.size(), pad));
        return fb::CreateReportItem(b, 7, 9, v, 3);
      },
      [](const fb::ReportItem* r) { return r->rewards()->Data(); },
      [&](const fb::ReportItem* r) {
        const ReportItem item = FromWire(r);
        CHECK(item.id == 7);
        CHECK(item.lease == 9);
        CHECK(item.step == 3);
        CHECK(item.rewards == rewards);
      });
}

TEST_CASE("convert: child parents and lineage ids 4 bytes off their alignment") {
  const std::vector<uint64_t> ids = {1, UINT64_MAX, 1ull << 40};
  WithMisaligned<fb::Child>(
      [&](Builder& b, bool pad) {
        const flatbuffers::Offset<flatbuffers::Vector<uint64_t>> v(
            WordVector(b, Bytes(ids), ids.size(), pad));
        const auto prompt = b.CreateString("p");
        fb::ChildBuilder cb(b);
        cb.add_parents(v);
        cb.add_prompt(prompt);
        return cb.Finish();
      },
      [](const fb::Child* c) { return c->parents()->Data(); },
      [&](const fb::Child* c) {
        const NewChild child = FromWire(c);
        CHECK(child.parents == ids);
        CHECK(child.prompt == "p");
      });
  WithMisaligned<fb::LineageReply>(
      [&](Builder& b, bool pad) {
        const flatbuffers::Offset<flatbuffers::Vector<uint64_t>> v(
            WordVector(b, Bytes(ids), ids.size(), pad));
        return fb::CreateLineageReply(b, v, v);
      },
      [](const fb::LineageReply* l) { return l->parents()->Data(); },
      [&](const fb::LineageReply* l) {
        const LineageView view = FromWire(l);
        CHECK(view.parents == ids);
        CHECK(view.children == ids);
      });
}

TEST_CASE("convert: StructAt copies structs 4 bytes off their alignment") {
  const std::vector<fb::InsertResult> results = {fb::InsertResult(5, true),
                                                 fb::InsertResult(UINT64_MAX - 1, false)};
  WithMisaligned<fb::InsertReply>(
      [&](Builder& b, bool pad) {
        const flatbuffers::Offset<flatbuffers::Vector<const fb::InsertResult*>> v(
            WordVector(b, Bytes(results), results.size(), pad));
        return fb::CreateInsertReply(b, v);
      },
      [](const fb::InsertReply* r) { return r->results()->Data(); },
      [&](const fb::InsertReply* r) {
        REQUIRE(r->results()->size() == 2);
        for (flatbuffers::uoffset_t i = 0; i < 2; ++i) {
          const fb::InsertResult x = StructAt(r->results(), i);
          CHECK(x.id() == results[i].id());
          CHECK(x.created() == results[i].created());
        }
      });
}

TEST_CASE("convert: CopyElements of an absent or empty vector is empty") {
  Builder b;
  b.Finish(fb::CreateReportItem(b, 1, 2, b.CreateVector(std::vector<double>{}), 0));
  const auto* r = flatbuffers::GetRoot<fb::ReportItem>(b.GetBufferPointer());
  CHECK(CopyElements(r->rewards()).empty());
  CHECK(CopyElements(static_cast<const flatbuffers::Vector<double>*>(nullptr)).empty());
}

}  // namespace
}  // namespace heapa::net
