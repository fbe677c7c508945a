#include "net/server.h"

// clang-format off
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>
// clang-format on
#include <algorithm>
#include <atomic>
#include <chrono>
#include <list>
#include <thread>

#include "net/session.h"

namespace heapa::net {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {
size_t WorkerCount(int configured) {
  if (configured > 0) return static_cast<size_t>(configured);
  // More would only contend for a pool's lock (hardware_concurrency counts the host's cores,
  // not a container's share of them).
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 2, 16);
}
}  // namespace

class Server::Impl {
 public:
  Impl(Service* service, const ServerOptions& options)
      : service_(service),
        options_(options),
        acceptor_(io_),
        signals_(io_),
        workers_(WorkerCount(options.worker_threads)),
        admin_workers_(std::max<size_t>(1, service->max_admin_requests())) {}

  Status Start() {
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(options_.host, ec);
    if (ec) return Status::InvalidArgument("bad listen address '" + options_.host + "'");
    const asio::ip::tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IOError("listen on " + options_.host + ":" + std::to_string(options_.port) +
                             ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    return Status::OK();
  }

  void HandleSignals() {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](const error_code& ec, int) {
      if (!ec) StopOnIoThread();
    });
  }

  void Run() {
    io_.run();
    workers_.join();
    admin_workers_.join();
  }

  void Stop() {
    asio::post(io_, [this] { StopOnIoThread(); });
  }

  uint16_t port() const { return port_; }
  uint64_t direct_replies() const { return direct_replies_.load(std::memory_order_relaxed); }

 private:
  void Accept() {
    acceptor_.async_accept([this](const error_code& ec, asio::ip::tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping_) return;
        // EMFILE and friends: keep serving the others, and try again a little later; at once
        // would spin, the listening socket stays readable while no descriptor is free.
        accept_retry_.expires_after(std::chrono::milliseconds(50));
        accept_retry_.async_wait([this](const error_code& wait_ec) {
          if (!wait_ec && !stopping_) Accept();
        });
        return;
      }
      if (stopping_) {  // accepted just before the stop: not served
        error_code close_ec;
        socket.close(close_ec);
        return;
      }
      auto it = sessions_.insert(sessions_.end(), nullptr);
      auto session =
          std::make_shared<Session>(std::move(socket), service_, options_, &workers_,
                                    &admin_workers_, &direct_replies_, [this, it] { Closed(it); });
      *it = session;
      if (sessions_.size() > options_.max_connections) {
        session->Reject(ProtocolError::kTooManyConnections,
                        "more than " + std::to_string(options_.max_connections) + " connections");
      } else {
        session->Start();
      }
      Accept();
    });
  }

  void Closed(std::list<std::shared_ptr<Session>>::iterator it) {
    sessions_.erase(it);
    error_code ec;
    if (stopping_ && sessions_.empty()) shutdown_timer_.cancel(ec);  // Run() may return now
  }

  void StopOnIoThread() {
    if (stopping_) return;
    stopping_ = true;
    error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel(ec);
    signals_.cancel(ec);
    // Drain() may close a session, which erases it from the list: iterate over a copy.
    std::vector<std::shared_ptr<Session>> sessions(sessions_.begin(), sessions_.end());
    for (auto& s : sessions) s->Drain();
    if (sessions_.empty()) return;
    shutdown_timer_.expires_after(std::chrono::milliseconds(options_.shutdown_timeout_ms));
    shutdown_timer_.async_wait([this](const error_code& wait_ec) {
      if (wait_ec) return;
      // A client that reads no responses must not keep the daemon from stopping.
      std::vector<std::shared_ptr<Session>> left(sessions_.begin(), sessions_.end());
      for (auto& s : left) s->Close();
    });
  }

  Service* service_;
  const ServerOptions options_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer accept_retry_{io_};
  asio::steady_timer shutdown_timer_{io_};  // armed by a stop, while connections are open
  asio::thread_pool workers_;
  asio::thread_pool admin_workers_;
  std::list<std::shared_ptr<Session>> sessions_;  // I/O thread only
  uint16_t port_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> direct_replies_{0};
};

Server::Server(Service* service, const ServerOptions& options)
    : impl_(std::make_unique<Impl>(service, options)) {}
Server::~Server() = default;
Status Server::Start() { return impl_->Start(); }
uint16_t Server::port() const { return impl_->port(); }
uint64_t Server::direct_replies() const { return impl_->direct_replies(); }
void Server::HandleSignals() { impl_->HandleSignals(); }
void Server::Run() { impl_->Run(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace heapa::net
