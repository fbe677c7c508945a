// net::MetricsHttp: the /metrics page over HTTP/1.1 (Boost.Beast), for Prometheus scrapers.
//
// GET /metrics answers 200 with page() in text/plain; version=0.0.4; any other path 404, any
// other method 405. One connection at a time is enough for a scraper; each request must
// arrive within 5 s and be under 8 KiB, so a slow or hostile peer cannot hold the thread.
// The page is rendered on the HTTP thread, never on the request workers.
#ifndef HEAPA_NET_METRICS_HTTP_H_
#define HEAPA_NET_METRICS_HTTP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "storage/status.h"

namespace heapa::net {

class MetricsHttp {
 public:
  explicit MetricsHttp(std::function<std::string()> page);
  ~MetricsHttp();  // stops
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Binds host:port (0: ephemeral) and serves on a thread of its own. IOError naming the
  // address when the bind fails.
  Status Start(const std::string& host, uint16_t port);
  uint16_t port() const;
  void Stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace heapa::net

#endif  // HEAPA_NET_METRICS_HTTP_H_
