// fuzz_frame: the framing of the wire protocol (net/frame.h) as the daemon's session and the
// client read it, with no socket (reliability-plan §4.4 C1).
//
// Input: byte 0 picks max_frame_bytes, byte 1 seeds the chunking, the rest is the byte stream a
// peer sends. The stream is read by an incremental reader that does what Session::ReadHeader /
// ReadBody do (4-byte header, DecodeFrameLength, reject 0 or > max before allocating, then the
// body), once fed in one chunk and once in random chunk sizes. Checks:
//   - no frame is empty or larger than max_frame_bytes, and bytes consumed <= bytes fed;
//   - both feedings give the same frames and the same final state (error / partial / clean);
//   - AppendFrame of the frames re-creates exactly the consumed bytes of the stream;
//   - every frame body goes through the FlatBuffers Verifier as a Request (what
//     Service::Handle does) and as a Response (what the client does), on an aligned copy; a
//     verified Request is read (ids, pool name, union type), and its queries, children and
//     report items through the daemon's own conversions (net/convert.h), whose vectors may
//     verify with 8-byte elements off their alignment (regress-misaligned-rewards).
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "net/convert.h"
#include "net/frame.h"
#include "protocol_generated.h"
#include "tests/fuzz/fuzz_util.h"

namespace heapa::fuzz {
namespace {

constexpr size_t kMaxFrames[] = {1, 7, 64, 1024, 65536, net::kDefaultMaxFrameBytes};

// The session's read loop without Asio.
class FrameReader {
 public:
  enum class State { kHeader, kBody, kError };

  explicit FrameReader(size_t max_frame) : max_frame_(max_frame) {}

  void Feed(std::string_view chunk) {
    fed_ += chunk.size();
    while (!chunk.empty() && state_ != State::kError) {
      if (state_ == State::kHeader) {
        const size_t n = std::min(chunk.size(), net::kFrameHeaderBytes - header_fill_);
        std::memcpy(header_ + header_fill_, chunk.data(), n);
        header_fill_ += n;
        consumed_ += n;
        chunk.remove_prefix(n);
        if (header_fill_ < net::kFrameHeaderBytes) return;
        header_fill_ = 0;
        const uint32_t length = net::DecodeFrameLength(header_);
        if (length == 0 || length > max_frame_) {
          state_ = State::kError;  // the session answers FRAME_TOO_LARGE and closes
          bad_length_ = length;
          return;
        }
        want_ = length;
        body_.clear();
        body_.reserve(length);
        state_ = State::kBody;
      } else {
        const size_t n = std::min(chunk.size(), want_ - body_.size());
        body_.append(chunk.data(), n);
        consumed_ += n;
        chunk.remove_prefix(n);
        if (body_.size() == want_) {
          frames_.push_back(std::move(body_));
          body_.clear();
          state_ = State::kHeader;
        }
      }
    }
  }

  // Everything observable, for comparing two feedings.
  std::string Outcome() const {
    std::string out = std::to_string(static_cast<int>(state_)) + ":" +
                      std::to_string(header_fill_) + ":" + std::to_string(body_.size()) + ":" +
                      std::to_string(bad_length_) + ":" + std::to_string(consumed_);
    for (const std::string& f : frames_) out += "|" + std::to_string(f.size()) + ":" + f;
    return out;
  }

  const std::vector<std::string>& frames() const { return frames_; }
  size_t consumed() const { return consumed_; }
  size_t fed() const { return fed_; }

 private:
  const size_t max_frame_;
  State state_ = State::kHeader;
  unsigned char header_[net::kFrameHeaderBytes] = {};
  size_t header_fill_ = 0;
  size_t want_ = 0;
  uint32_t bad_length_ = 0;
  std::string body_;
  std::vector<std::string> frames_;
  size_t fed_ = 0;
  size_t consumed_ = 0;
};

void ReadRequest(const net::fb::Request* req) {
  volatile uint64_t sink = req->request_id();
  if (req->pool()) sink = sink + req->pool()->size() + std::string(req->pool()->str()).size();
  sink = sink + static_cast<uint64_t>(req->body_type());
  switch (req->body_type()) {
    case net::fb::RequestBody::Hello:
      if (const auto* h = req->body_as_Hello(); h && h->auth_token())
        sink = sink + h->auth_token()->size();
      break;
    case net::fb::RequestBody::Insert:
      if (const auto* i = req->body_as_Insert(); i && i->queries()) {
        for (const auto* q : *i->queries()) {
          const NewQuery nq = net::FromWire(q);
          sink = sink + nq.prompt.size() + nq.tokens.size() + nq.meta.size();
        }
      }
      break;
    case net::fb::RequestBody::InsertChildren:
      if (const auto* i = req->body_as_InsertChildren(); i && i->children()) {
        for (const auto* c : *i->children()) {
          const NewChild nc = net::FromWire(c);
          sink = sink + nc.prompt.size() + nc.parents.size() + nc.tokens.size();
        }
      }
      break;
    case net::fb::RequestBody::Report:
      if (const auto* r = req->body_as_Report(); r && r->items()) {
        for (const auto* it : *r->items()) {
          const ReportItem item = net::FromWire(it);
          sink = sink + item.id + item.lease;
          for (double x : item.rewards) sink = sink + (x > 0);
        }
      }
      break;
    default:
      break;
  }
  (void)sink;
}

}  // namespace
}  // namespace heapa::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace heapa;
  using namespace heapa::fuzz;
  Bytes in(data, size);
  const size_t max_frame = kMaxFrames[in.U8() % std::size(kMaxFrames)];
  uint32_t rng = 0x9e3779b9u ^ in.U8();
  const std::string_view stream = in.Rest();

  FrameReader whole(max_frame);
  whole.Feed(stream);
  FrameReader chunked(max_frame);
  for (size_t off = 0; off < stream.size();) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    const size_t n = std::min<size_t>(stream.size() - off, 1 + rng % 9);
    chunked.Feed(stream.substr(off, n));
    off += n;
  }

  HEAPA_FUZZ_CHECK(whole.consumed() <= whole.fed() && chunked.consumed() <= chunked.fed(),
                   "consumed more bytes than fed");
  HEAPA_FUZZ_CHECK(whole.Outcome() == chunked.Outcome(), "chunking changed the frames");
  std::string again;
  for (const std::string& f : whole.frames()) {
    HEAPA_FUZZ_CHECK(!f.empty() && f.size() <= max_frame,
                     "frame of " + std::to_string(f.size()) + " bytes");
    net::AppendFrame(f, &again);
    HEAPA_FUZZ_CHECK(
        net::DecodeFrameLength(reinterpret_cast<const unsigned char*>(
            again.data() + again.size() - f.size() - net::kFrameHeaderBytes)) == f.size(),
        "header does not round-trip");
  }
  HEAPA_FUZZ_CHECK(again.size() <= whole.consumed() && stream.substr(0, again.size()) == again,
                   "AppendFrame does not re-create the stream");

  for (const std::string& f : whole.frames()) {
    std::vector<uint64_t> aligned(f.size() / 8 + 1);
    std::memcpy(aligned.data(), f.data(), f.size());
    const auto* p = reinterpret_cast<const uint8_t*>(aligned.data());
    flatbuffers::Verifier request_verifier(p, f.size(), 64, 1u << 22);
    if (net::fb::VerifyRequestBuffer(request_verifier)) ReadRequest(net::fb::GetRequest(p));
    flatbuffers::Verifier response_verifier(p, f.size(), 64, 1u << 22);
    if (response_verifier.VerifyBuffer<net::fb::Response>(nullptr)) {
      const auto* r = flatbuffers::GetRoot<net::fb::Response>(p);
      volatile size_t sink = r->message() ? r->message()->str().size() : 0;
      (void)sink;
    }
  }
  return 0;
}
