// net::Session: one client connection of the server (see server.h for the model). Private to
// net/.
#ifndef HEAPA_NET_SESSION_H_
#define HEAPA_NET_SESSION_H_

// clang-format off
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>
// clang-format on
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/server.h"
#include "net/service.h"

namespace heapa::net {

class Session : public std::enable_shared_from_this<Session> {
 public:
  // Short requests run on `workers`, whole-pool ones on `admin_workers`. Responses that a
  // worker sends itself (see HandBack) are counted in *direct_replies.
  Session(boost::asio::ip::tcp::socket socket, Service* service, const ServerOptions& options,
          boost::asio::thread_pool* workers, boost::asio::thread_pool* admin_workers,
          std::atomic<uint64_t>* direct_replies, std::function<void()> on_close);

  // Starts reading requests.
  void Start();
  // Answers once with `error` and closes (the connection limit).
  void Reject(ProtocolError error, const std::string& message);
  // Stops reading; closes once the requests already read are answered.
  void Drain();
  // Closes now: responses not yet sent are dropped (requests being applied still finish).
  void Close();

 private:
  // Turns the complete frames in the input buffer into requests (until reading pauses), then
  // reads more unless paused.
  void Read();
  // Moves complete frames from the input buffer to requests_. False when a frame announces a
  // length outside the limit (the error response is queued, the connection closes after it).
  bool ParseFrames();
  void ArmTimer(int64_t ms);
  void Dispatch();
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::any_io_executor>;
  // On a worker: begins batch[from..] in order (batch[0] is request number first_slot),
  // lets the I/O thread dispatch again, then completes the requests it began, and
  // `admitted`: request from - 1, begun by RunAdmitted. At an admitted whole-pool request it
  // stops and posts RunAdmitted instead, which comes back here for the rest.
  void Apply(std::vector<std::string> batch, size_t from, uint64_t first_slot,
             std::shared_ptr<WorkGuard> work, std::optional<Service::Pending> admitted);
  // On an admin thread: begins the whole-pool request batch[index], whose slot a worker took.
  void RunAdmitted(std::vector<std::string> batch, size_t index, uint64_t first_slot,
                   std::shared_ptr<WorkGuard> work);
  // A worker's thread hands back the response of request number `slot`. Responses handed
  // back while the I/O thread has not yet taken the earlier ones join them: a group write
  // that completes many requests of this session costs it one wake-up, not one per request.
  // The response to a lone request (lent_slot_) is sent by this thread itself, without
  // waking the I/O thread at all; what the socket does not take at once goes the usual way.
  void HandBack(uint64_t slot, std::string body, bool close);
  // On the I/O thread: takes every response handed back into its slot, then sends.
  void TakeHandedBack();
  // On the I/O thread, before it does anything with the session (parsing what it read
  // included): takes back the lent slot, and retires it if it was answered directly.
  void Reclaim();
  // Queues the responses that are complete, in request order.
  void SendReady();
  // A request is being applied or awaits its fsync.
  bool Busy() const { return applying_ || !replies_.empty(); }
  // Queues a response (`framed`: already a frame, or the rest of one) and writes.
  void Send(std::string body, bool close_after, bool framed = false);
  void WriteNext();
  bool ReadingPaused() const;

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  Service* service_;
  const ServerOptions& options_;
  boost::asio::thread_pool* workers_;
  boost::asio::thread_pool* admin_workers_;
  std::function<void()> on_close_;

  SessionState state_;
  // Bytes read and not yet parsed: input_[input_begin_, input_end_). Many small pipelined
  // requests arrive in one read.
  std::string input_;
  size_t input_begin_ = 0;
  size_t input_end_ = 0;
  size_t read_size_ = 4096;   // bytes asked of a read; doubles up to 64 KiB while reads fill it
  bool frame_clock_ = false;  // the timer runs the frame timeout of a partial frame
  // The answer to a frame announcing a bad length, sent once the requests before it are
  // begun; reading has stopped.
  std::optional<std::string> frame_error_;
  std::deque<std::string> requests_;  // read, not yet begun
  // A worker is applying requests of this session. Set by the I/O thread, cleared by the
  // worker once it has begun them (Dispatch says how the two meet).
  std::atomic<bool> applying_{false};
  // Dispatch found applying_ set: the worker that clears it posts Dispatch again.
  std::atomic<bool> dispatch_wanted_{false};
  bool stop_applying_ = false;  // a response closes the connection: begin no more
  // One slot per begun request, in order: its response once complete. The front slot is
  // request number first_slot_.
  struct Reply {
    std::string body;
    bool close = false;
    bool framed = false;  // body is the rest of a frame a worker began to send
  };
  std::deque<std::optional<Reply>> replies_;
  // Responses handed back by workers and not yet taken (TakeHandedBack is posted once for
  // all of them: handed_back_posted_).
  std::mutex handed_back_mu_;
  std::vector<std::pair<uint64_t, Reply>> handed_back_;
  bool handed_back_posted_ = false;
  // The slot of a lone request whose response the thread completing it sends itself
  // (Dispatch lends it when that request is the only one unanswered, none waits to be begun,
  // nothing is being written, and reading goes on). While it is lent, the I/O thread only
  // waits for its read; whatever it does with the session, parsing what it read included, it
  // calls Reclaim first. Guarded by handed_back_mu_.
  std::optional<uint64_t> lent_slot_;
  // The lent slot, once its response went out whole. Guarded by handed_back_mu_.
  std::optional<uint64_t> sent_directly_;
  int fd_ = -1;  // the socket's descriptor, for the workers' sends (set before any request)
  std::atomic<uint64_t>* direct_replies_;
  uint64_t first_slot_ = 0;
  size_t completing_ = 0;           // requests handed to a worker and not answered yet
  std::deque<std::string> output_;  // framed responses not yet written
  size_t output_bytes_ = 0;
  size_t output_writing_ = 0;  // responses at the front of output_ in the write in progress
  bool writing_ = false;
  bool reading_ = false;
  bool draining_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
};

}  // namespace heapa::net

#endif  // HEAPA_NET_SESSION_H_
