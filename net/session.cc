#include "net/session.h"

#include "net/frame.h"

namespace heapa::net {
namespace asio = boost::asio;
using boost::system::error_code;

Session::Session(asio::ip::tcp::socket socket, Service* service, const ServerOptions& options,
                 asio::thread_pool* workers, std::function<void()> on_close)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      service_(service),
      options_(options),
      workers_(workers),
      on_close_(std::move(on_close)) {}

void Session::Start() {
  error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);  // small replies go out at once
  ReadHeader();
}

void Session::Reject(ProtocolError error, const std::string& message) {
  Send(Service::ErrorResponse(error, message), /*close_after=*/true);
}

void Session::Drain() {
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

void Session::ReadHeader() {
  if (closed_ || draining_ || close_after_write_) return;
  if (ReadingPaused()) {  // resumed when responses drain; no idle clock meanwhile
    error_code ec;
    timer_.cancel(ec);
    return;
  }
  reading_ = true;
  ArmTimer(options_.idle_timeout_ms);
  asio::async_read(
      socket_, asio::buffer(header_), [self = shared_from_this()](const error_code& ec, size_t) {
        self->reading_ = false;
        if (ec) return self->Close();
        const uint32_t length = DecodeFrameLength(self->header_);
        if (length == 0 || length > self->options_.max_frame_bytes) {
          // The announced body is never read into memory.
          return self->Send(Service::ErrorResponse(
                                ProtocolError::kFrameTooLarge,
                                "frame of " + std::to_string(length) + " bytes is outside [1, " +
                                    std::to_string(self->options_.max_frame_bytes) + "]"),
                            /*close_after=*/true);
        }
        self->ReadBody(length);
      });
}

void Session::ReadBody(uint32_t length) {
  reading_ = true;
  ArmTimer(options_.frame_timeout_ms);
  body_.resize(length);
  asio::async_read(socket_, asio::buffer(body_),
                   [self = shared_from_this()](const error_code& ec, size_t) {
                     self->reading_ = false;
                     if (ec) return self->Close();
                     self->requests_.push_back(std::move(self->body_));
                     self->body_.clear();
                     self->Dispatch();
                     self->ReadHeader();
                   });
}

void Session::Dispatch() {
  if (applying_ || stop_applying_ || requests_.empty() || closed_ ||
      completing_ >= options_.max_pipelined_writes) {
    return;
  }
  applying_ = true;
  std::string request = std::move(requests_.front());
  requests_.pop_front();
  const uint64_t slot = first_slot_ + replies_.size();
  replies_.emplace_back();
  // Requests apply one at a time, in order, on a worker; then the next one may apply while
  // this one waits for its fsync (so pipelined writes share one), and the responses go out
  // in order from the I/O thread. The work guard keeps the I/O loop running meanwhile.
  auto work = asio::make_work_guard(socket_.get_executor());
  asio::post(*workers_, [self = shared_from_this(), request = std::move(request), slot,
                         work = std::move(work)]() mutable {
    Service::Pending pending = self->service_->Begin(&self->state_, request);
    const bool close = pending.close();
    asio::post(self->socket_.get_executor(), [self, close] {
      self->applying_ = false;
      if (close) self->stop_applying_ = true;
      ++self->completing_;
      self->Dispatch();
    });
    std::string response = self->service_->Complete(std::move(pending));
    // Posted after the handler above: the I/O thread runs them in that order.
    asio::post(self->socket_.get_executor(),
               [self, slot, response = std::move(response), close]() mutable {
                 --self->completing_;
                 self->replies_[slot - self->first_slot_] = Reply{std::move(response), close};
                 self->SendReady();
                 self->Dispatch();
               });
    work.reset();
  });
}

void Session::SendReady() {
  while (!replies_.empty() && replies_.front().has_value()) {
    Reply reply = std::move(*replies_.front());
    replies_.pop_front();
    ++first_slot_;
    Send(std::move(reply.body), reply.close);
  }
}

void Session::Send(std::string body, bool close_after) {
  if (closed_) return;
  std::string frame;
  frame.reserve(kFrameHeaderBytes + body.size());
  AppendFrame(body, &frame);
  output_bytes_ += frame.size();
  output_.push_back(std::move(frame));
  if (close_after) close_after_write_ = true;
  WriteNext();
}

void Session::WriteNext() {
  if (writing_ || closed_) return;
  if (output_.empty()) {
    if (close_after_write_ || (draining_ && !Busy() && requests_.empty())) return Close();
    if (!reading_) ReadHeader();  // resume after a pause
    return;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(output_.front()),
                    [self = shared_from_this()](const error_code& ec, size_t) {
                      self->writing_ = false;
                      if (ec) return self->Close();
                      self->output_bytes_ -= self->output_.front().size();
                      self->output_.pop_front();
                      self->WriteNext();
                    });
}

void Session::Close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  timer_.cancel(ec);
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (on_close_) on_close_();
}

}  // namespace heapa::net
