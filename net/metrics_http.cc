#include "net/metrics_http.h"

// clang-format off
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <chrono>
#include <thread>

namespace heapa::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

class MetricsHttp::Impl {
 public:
  explicit Impl(std::function<std::string()> page) : page_(std::move(page)), acceptor_(io_) {}

  Status Start(const std::string& host, uint16_t port) {
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(host, ec);
    if (ec) return Status::InvalidArgument("bad metrics address '" + host + "'");
    const asio::ip::tcp::endpoint endpoint(address, port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IOError("metrics: cannot listen on " + host + ":" + std::to_string(port) +
                             ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::OK();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      error_code ec;
      acceptor_.close(ec);
      io_.stop();
    });
    thread_.join();
  }

  uint16_t port() const { return port_; }

 private:
  // One connection: read one request (bounded in time and size), answer, close.
  struct Exchange {
    explicit Exchange(asio::ip::tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer{8192};
    http::request_parser<http::empty_body> parser;
    http::response<http::string_body> response;
  };

  void Accept() {
    acceptor_.async_accept([this](error_code ec, asio::ip::tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
      } else {
        Serve(std::make_shared<Exchange>(std::move(socket)));
      }
      Accept();
    });
  }

  void Serve(const std::shared_ptr<Exchange>& x) {
    x->parser.header_limit(8192);
    x->stream.expires_after(std::chrono::seconds(5));
    http::async_read(x->stream, x->buffer, x->parser, [this, x](error_code ec, size_t) {
      if (ec) return;  // timeout, reset or garbage: just drop the connection
      const auto& req = x->parser.get();
      x->response.version(req.version());
      x->response.keep_alive(false);
      if (req.method() != http::verb::get) {
        x->response.result(http::status::method_not_allowed);
        x->response.body() = "only GET\n";
      } else if (req.target() != "/metrics") {
        x->response.result(http::status::not_found);
        x->response.body() = "try /metrics\n";
      } else {
        x->response.result(http::status::ok);
        x->response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        x->response.body() = page_();
      }
      x->response.prepare_payload();
      x->stream.expires_after(std::chrono::seconds(5));
      http::async_write(x->stream, x->response, [x](error_code, size_t) {
        error_code ignored;
        x->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      });
    });
  }

  std::function<std::string()> page_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  uint16_t port_ = 0;
};

MetricsHttp::MetricsHttp(std::function<std::string()> page)
    : impl_(std::make_unique<Impl>(std::move(page))) {}
MetricsHttp::~MetricsHttp() { Stop(); }
Status MetricsHttp::Start(const std::string& host, uint16_t port) {
  return impl_->Start(host, port);
}
uint16_t MetricsHttp::port() const { return impl_->port(); }
void MetricsHttp::Stop() { impl_->Stop(); }

}  // namespace heapa::net
