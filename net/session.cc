#include "net/session.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "net/frame.h"
#include "storage/check.h"

namespace heapa::net {
namespace asio = boost::asio;
using boost::system::error_code;

Session::Session(asio::ip::tcp::socket socket, Service* service, const ServerOptions& options,
                 asio::thread_pool* workers, asio::thread_pool* admin_workers,
                 std::atomic<uint64_t>* direct_replies, std::function<void()> on_close)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      service_(service),
      options_(options),
      workers_(workers),
      admin_workers_(admin_workers),
      on_close_(std::move(on_close)),
      direct_replies_(direct_replies) {}

namespace {
constexpr size_t kReadChunk = 64 * 1024;  // most bytes asked of one read (between large frames)
constexpr size_t kMaxGather = 64;         // responses sent by one write
}  // namespace

void Session::Start() {
  error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);  // small replies go out at once
  input_.resize(read_size_);
  fd_ = socket_.native_handle();
  Read();
}

void Session::Reject(ProtocolError error, const std::string& message) {
  Send(Service::ErrorResponse(error, message), /*close_after=*/true);
}

void Session::Drain() {
  Reclaim();
  draining_ = true;
  error_code ec;
  timer_.cancel(ec);
  if (!Busy() && requests_.empty() && !writing_) Close();
}

bool Session::ReadingPaused() const {
  return requests_.size() + replies_.size() >= options_.max_pending_requests ||
         output_bytes_ >= options_.max_output_bytes;
}

void Session::ArmTimer(int64_t ms) {
  timer_.expires_after(std::chrono::milliseconds(ms));
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->Close();  // idle, or a frame that never completed
  });
}

bool Session::ParseFrames() {
  while (!ReadingPaused() && input_end_ - input_begin_ >= kFrameHeaderBytes) {
    const auto* header = reinterpret_cast<const unsigned char*>(input_.data() + input_begin_);
    const uint32_t length = DecodeFrameLength(header);
    if (length == 0 || length > options_.max_frame_bytes) {
      // The announced body is never read into memory, and nothing after it is read. The
      // error answers this frame: it goes out after the answers to the requests before it
      // (Dispatch), then the connection closes.
      input_begin_ = input_end_ = 0;
      frame_error_ =
          Service::ErrorResponse(ProtocolError::kFrameTooLarge,
                                 "frame of " + std::to_string(length) + " bytes is outside [1, " +
                                     std::to_string(options_.max_frame_bytes) + "]");
      return false;
    }
    if (input_end_ - input_begin_ - kFrameHeaderBytes < length) break;  // not all here yet
    requests_.emplace_back(input_.data() + input_begin_ + kFrameHeaderBytes, length);
    input_begin_ += kFrameHeaderBytes + length;
  }
  return true;
}

void Session::Read() {
  // A slot answered directly still counts against max_pending_requests: retired first, or
  // ParseFrames would stop a frame early and leave it in the buffer while reading goes on.
  Reclaim();
  if (closed_ || draining_ || close_after_write_ || reading_ || frame_error_) return;
  const bool framing_ok = ParseFrames();
  Dispatch();
  if (!framing_ok) return;
  if (ReadingPaused()) {  // resumed when responses drain; no clock meanwhile
    error_code ec;
    timer_.cancel(ec);
    frame_clock_ = false;
    return;
  }
  // Keep the unparsed tail (a partial frame) at the front, with room for all of that frame.
  if (input_begin_ > 0) {
    std::memmove(input_.data(), input_.data() + input_begin_, input_end_ - input_begin_);
    input_end_ -= input_begin_;
    input_begin_ = 0;
    frame_clock_ = false;  // frames completed: what is left starts a new one
  }
  size_t want = read_size_;
  if (input_end_ >= kFrameHeaderBytes) {
    const auto* header = reinterpret_cast<const unsigned char*>(input_.data());
    want = std::max<size_t>(want, kFrameHeaderBytes + DecodeFrameLength(header));  // checked
  }
  if (input_.size() < want) {
    input_.resize(want);
  } else if (input_end_ == 0 && input_.size() > 4 * kReadChunk) {
    std::string(read_size_, '\0').swap(input_);  // a large frame went by: give its memory back
  }
  // The idle clock runs between frames; a frame once started must complete within the frame
  // timeout, however it trickles in.
  if (input_end_ == 0) {
    ArmTimer(options_.idle_timeout_ms);
    frame_clock_ = false;
  } else if (!frame_clock_) {
    ArmTimer(options_.frame_timeout_ms);
    frame_clock_ = true;
  }
  reading_ = true;
  socket_.async_read_some(asio::buffer(input_.data() + input_end_, input_.size() - input_end_),
                          [self = shared_from_this()](const error_code& ec, size_t n) {
                            self->reading_ = false;
                            if (ec) return self->Close();
                            // A read that fills the buffer: ask for more next time.
                            if (self->input_end_ + n == self->input_.size()) {
                              self->read_size_ = std::min(2 * self->read_size_, kReadChunk);
                            }
                            self->input_end_ += n;
                            self->Read();
                          });
}

void Session::Dispatch() {
  // While a worker applies, nothing starts; it clears applying_ when done and, if this ran
  // meanwhile, posts Dispatch again. dispatch_wanted_ is set before applying_ is read, and
  // the worker reads it after clearing applying_ (both sequentially consistent), so at least
  // one of the two sees the other: a request never waits for an event that does not come. A
  // request sent only after its predecessor was answered (one outstanding request per client)
  // then costs no wake-up of this thread for the worker's "applied".
  Reclaim();
  dispatch_wanted_.store(true);
  if (applying_.load()) return;
  dispatch_wanted_.store(false);
  if (frame_error_ && stop_applying_) frame_error_.reset();  // closing already: no answer
  if (frame_error_ && requests_.empty()) {
    // Every request before the bad frame is begun: its error takes the next slot.
    replies_.emplace_back(Reply{std::move(*frame_error_), /*close=*/true});
    frame_error_.reset();
    stop_applying_ = true;
    SendReady();
    return;
  }
  if (stop_applying_ || requests_.empty() || closed_ ||
      completing_ >= options_.max_pipelined_writes) {
    return;
  }
  // Every request read so far (within the limit) goes to one worker, which applies them one
  // after the other, in order: pipelined requests cost one hand-off, not one each. Then the
  // next ones may apply while these wait for their fsync (so pipelined writes share one), and
  // the responses go out in order from the I/O thread. No thread waits for the fsync: the
  // write that makes a request durable hands its response back. The work guard keeps the I/O
  // loop running meanwhile.
  applying_ = true;
  const size_t n = std::min(requests_.size(), options_.max_pipelined_writes - completing_);
  std::vector<std::string> batch;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(requests_.front()));
    requests_.pop_front();
  }
  const uint64_t first_slot = first_slot_ + replies_.size();
  replies_.resize(replies_.size() + n);
  completing_ += n;
  if (replies_.size() == 1 && requests_.empty() && output_.empty() && !writing_ && !draining_ &&
      !close_after_write_ && !frame_error_ && !ReadingPaused()) {
    // A lone request, nothing waits behind it, and reading goes on: its response may go out
    // from the thread that completes it, with no hand-off to this one (which learns of it when
    // a read completes, or it does anything else with the session: Reclaim).
    std::lock_guard<std::mutex> lock(handed_back_mu_);
    lent_slot_ = first_slot;
  }
  auto work = std::make_shared<WorkGuard>(asio::make_work_guard(socket_.get_executor()));
  asio::post(*workers_, [self = shared_from_this(), batch = std::move(batch), first_slot,
                         work = std::move(work)]() mutable {
    self->Apply(std::move(batch), 0, first_slot, std::move(work), std::nullopt);
  });
}

void Session::Apply(std::vector<std::string> batch, size_t from, uint64_t first_slot,
                    std::shared_ptr<WorkGuard> work, std::optional<Service::Pending> admitted) {
  // All of them are applied before any waits for durability, so that they share a write.
  std::vector<Service::Pending> applied;
  applied.reserve(batch.size() - from + 1);
  const size_t first_begun = admitted ? from - 1 : from;
  if (admitted) applied.push_back(std::move(*admitted));
  size_t next = from;  // the first request not begun
  bool close = false;
  while (next < batch.size() && !close) {
    Service::Pending pending = service_->Begin(&state_, batch[next], Service::AdminMode::kDefer);
    if (pending.needs_admin_thread()) break;  // admitted: it runs on an admin thread
    close = pending.close();                  // a failed handshake: nothing after it is applied
    applied.push_back(std::move(pending));
    ++next;
  }
  if (next < batch.size() && !close) {
    // A whole-pool request, admitted (its slot taken) but not run: it runs on an admin thread,
    // then the rest of the batch comes back to a worker, in order; applying_ stays set until
    // they are begun. (A request refused for want of a slot was answered like any other.)
    asio::post(*admin_workers_, [self = shared_from_this(), batch = std::move(batch), next,
                                 first_slot, work]() mutable {
      self->RunAdmitted(std::move(batch), next, first_slot, std::move(work));
    });
  } else if (close) {
    // Done before any answer can be posted: the I/O thread sees the batch applied first, and
    // this thread may then lead group writes for a while without holding the session back.
    const size_t skipped = batch.size() - next;
    asio::post(socket_.get_executor(), [self = shared_from_this(), skipped] {
      self->stop_applying_ = true;
      // The requests after the closing one were never begun: their slots (the last ones)
      // go, and the connection closes after the closing answer.
      self->completing_ -= skipped;
      self->replies_.resize(self->replies_.size() - skipped);
      self->applying_.store(false);
      self->Dispatch();
      self->WriteNext();  // a draining session whose answers all went out closes now
    });
  } else {
    applying_.store(false);
    if (dispatch_wanted_.exchange(false)) {
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->Dispatch(); });
    }
  }
  auto self = shared_from_this();
  for (size_t i = 0; i < applied.size(); ++i) {
    const uint64_t slot = first_slot + first_begun + i;
    const bool closes = applied[i].close();
    auto respond = [self, slot, closes, work](std::string response) {
      self->HandBack(slot, std::move(response), closes);
    };
    auto offload = [self](std::function<void()> task) {
      asio::post(*self->workers_, std::move(task));
    };
    service_->CompleteWhenDurable(std::move(applied[i]), std::move(respond), std::move(offload));
  }
}

void Session::RunAdmitted(std::vector<std::string> batch, size_t index, uint64_t first_slot,
                          std::shared_ptr<WorkGuard> work) {
  Service::Pending pending = service_->Begin(&state_, batch[index], Service::AdminMode::kAdmitted);
  // Its completion (which may write group commits) and the rest of the batch go back to a
  // worker: admin threads run whole-pool requests only, so an admitted one never waits for
  // a thread while holding its slot.
  asio::post(*workers_, [self = shared_from_this(), batch = std::move(batch), index, first_slot,
                         work = std::move(work), pending = std::move(pending)]() mutable {
    self->Apply(std::move(batch), index + 1, first_slot, std::move(work), std::move(pending));
  });
}

namespace {
// Sends what the socket takes at once of the frame of `body`, at most `limit` bytes of it,
// without blocking or copying the body. On a short send of part of the frame, *rest is what
// did not go. Errors send nothing: the I/O thread's write meets them again. Returns the bytes
// sent.
size_t SendFrameNow(int fd, const std::string& body, size_t limit, std::string* rest) {
  unsigned char header[kFrameHeaderBytes];
  EncodeFrameLength(static_cast<uint32_t>(body.size()), header);
  const size_t total = kFrameHeaderBytes + body.size();
  // The two parts, cut at `limit` (tests).
  const size_t header_part = std::min(kFrameHeaderBytes, limit);
  const size_t body_part = std::min(body.size(), limit - header_part);
  iovec parts[2] = {{header, header_part}, {const_cast<char*>(body.data()), body_part}};
  msghdr msg{};
  msg.msg_iov = parts;
  msg.msg_iovlen = 2;
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  const size_t sent = n > 0 ? static_cast<size_t>(n) : 0;
  if (sent == 0 || sent == total) return sent;
  rest->clear();
  if (sent < kFrameHeaderBytes) {
    rest->append(reinterpret_cast<const char*>(header) + sent, kFrameHeaderBytes - sent);
    rest->append(body);
  } else {
    rest->append(body, sent - kFrameHeaderBytes);
  }
  return sent;
}
}  // namespace

void Session::HandBack(uint64_t slot, std::string body, bool close) {
  {
    std::lock_guard<std::mutex> lock(handed_back_mu_);
    Reply reply{std::move(body), close};
    if (lent_slot_ == slot) {
      lent_slot_.reset();
      // Sent under the lock: Reclaim, and so Close, cannot take the slot back (and close the
      // descriptor) meanwhile. A closing response goes through the I/O thread, which closes.
      std::string rest;
      const size_t sent =
          close ? 0 : SendFrameNow(fd_, reply.body, options_.TEST_max_direct_send_bytes, &rest);
      if (sent == kFrameHeaderBytes + reply.body.size()) {
        sent_directly_ = slot;
        direct_replies_->fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (sent > 0) reply = Reply{std::move(rest), close, /*framed=*/true};
    }
    handed_back_.emplace_back(slot, std::move(reply));
    if (handed_back_posted_) return;  // the pending TakeHandedBack takes this one too
    handed_back_posted_ = true;
  }
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->TakeHandedBack(); });
}

void Session::Reclaim() {
  std::optional<uint64_t> sent;
  {
    std::lock_guard<std::mutex> lock(handed_back_mu_);
    lent_slot_.reset();
    sent.swap(sent_directly_);
  }
  if (!sent) return;
  // The lent slot was the only one when lent, and its response was never handed back: it is
  // still the front one.
  HEAPA_CHECK(*sent == first_slot_ && !replies_.empty() && !replies_.front().has_value());
  replies_.pop_front();
  ++first_slot_;
  --completing_;
}

void Session::TakeHandedBack() {
  Reclaim();
  std::vector<std::pair<uint64_t, Reply>> taken;
  {
    std::lock_guard<std::mutex> lock(handed_back_mu_);
    taken.swap(handed_back_);
    handed_back_posted_ = false;
  }
  for (auto& [slot, reply] : taken) {
    --completing_;
    replies_[slot - first_slot_] = std::move(reply);
  }
  SendReady();
  Dispatch();
}

void Session::SendReady() {
  while (!replies_.empty() && replies_.front().has_value()) {
    Reply reply = std::move(*replies_.front());
    replies_.pop_front();
    ++first_slot_;
    Send(std::move(reply.body), reply.close, reply.framed);
  }
}

void Session::Send(std::string body, bool close_after, bool framed) {
  if (closed_) return;
  std::string frame;
  if (framed) {
    frame = std::move(body);
  } else {
    frame.reserve(kFrameHeaderBytes + body.size());
    AppendFrame(body, &frame);
  }
  output_bytes_ += frame.size();
  output_.push_back(std::move(frame));
  if (close_after) close_after_write_ = true;
  WriteNext();
}

void Session::WriteNext() {
  if (writing_ || closed_) return;
  if (output_.empty()) {
    if (close_after_write_ || (draining_ && !Busy() && requests_.empty())) return Close();
    if (!reading_) Read();  // resume after a pause
    return;
  }
  // Every response ready goes out in one write (deque elements stay put while others are
  // appended behind them).
  writing_ = true;
  output_writing_ = std::min(output_.size(), kMaxGather);
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(output_writing_);
  for (size_t i = 0; i < output_writing_; ++i) buffers.push_back(asio::buffer(output_[i]));
  asio::async_write(socket_, buffers, [self = shared_from_this()](const error_code& ec, size_t) {
    self->writing_ = false;
    if (ec) return self->Close();
    for (size_t i = 0; i < self->output_writing_; ++i) {
      self->output_bytes_ -= self->output_.front().size();
      self->output_.pop_front();
    }
    self->output_writing_ = 0;
    self->WriteNext();
  });
}

void Session::Close() {
  if (closed_) return;
  Reclaim();  // no worker sends on the descriptor from here on
  closed_ = true;
  error_code ec;
  timer_.cancel(ec);
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (on_close_) on_close_();
}

}  // namespace heapa::net
