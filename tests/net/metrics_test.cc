// heapad --metrics: the page is valid Prometheus text (our own line check and the official
// Python client's parser) and its counters move with the requests.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "net/client.h"
#include "tests/testutil/daemon.h"
#include "tests/testutil/metrics_page.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using testing::Body;
using testing::Http;
using testing::Value;

// The first line that is not valid text format 0.0.4, or "".
std::string BadLine(const std::string& page) {
  static const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? )"
      R"((-?[0-9][0-9.e+-]*|\+Inf|-Inf|NaN)$)");
  static const std::regex type(R"(^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram)$)");
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0 ? !std::regex_match(line, type)
                                      : !std::regex_match(line, sample)) {
      return line;
    }
  }
  return "";
}

}  // namespace

TEST_SUITE("net/metrics") {
  TEST_CASE("the metrics page parses as Prometheus text and its counters move") {
    testing::TempDir dir;
    testing::Daemon d(dir.Sub("data"), {"--metrics", "127.0.0.1:0"});
    REQUIRE(d.metrics_port() != 0);
    net::ClientOptions o;
    o.port = d.port();
    auto c = net::Client::Connect(o);
    REQUIRE(c.ok());
    HEAPA_REQUIRE_OK((*c)->CreatePool("m", PoolConfig{}));
    REQUIRE(
        (*c)->Insert("m", std::vector<NewQuery>{testing::MakeQuery(1, 0.5),
                                                testing::MakeQuery(2, -0.5), testing::MakeQuery(3)})
            .ok());
    SampleRequest req;
    req.count = 2;
    auto s = (*c)->Sample("m", req);
    REQUIRE(s.ok());
    REQUIRE(
        (*c)->Report("m", std::vector<ReportItem>{{(*s)[0].id, (*s)[0].lease, {1, 1}, 1}}).ok());
    CHECK((*c)->Get("m", 999).status().code() == Status::Code::kNotFound);

    const std::string response = Http(d.metrics_port(), "GET", "/metrics");
    CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(response.find("text/plain; version=0.0.4") != std::string::npos);
    const std::string page = Body(response);
    CHECK(BadLine(page) == "");
    CHECK(Value(page, R"(heapa_requests_total{verb="Insert",result="ok"})") == 1);
    CHECK(Value(page, R"(heapa_requests_total{verb="Get",result="error"})") == 1);
    CHECK(Value(page, R"(heapa_request_duration_seconds_count{verb="Sample"})") == 1);
    CHECK(Value(page, R"(heapa_pool_queries{pool="m",state="IN_FLIGHT"})") == 1);
    CHECK(Value(page, R"(heapa_pool_queries{pool="m",state="ARCHIVED"})") == 1);
    CHECK(Value(page, R"(heapa_pool_added_total{pool="m"})") == 3);
    CHECK(Value(page, R"(heapa_pool_reports_total{pool="m"})") == 1);
    CHECK(Value(page, R"(heapa_pool_degraded{pool="m"})") == 0);
    CHECK(Value(page, R"(heapa_pool_commit_operations_total{pool="m"})") >= 3);
    CHECK(Value(page, R"(heapa_pool_wal_syncs_total{pool="m"})") >=
          Value(page, R"(heapa_pool_commit_writes_total{pool="m"})"));
    CHECK(Value(page, R"(heapa_pool_wal_syncs_total{pool="m"})") >= 1);
    // One query reported: its statistics are held in memory.
    CHECK(Value(page, R"(heapa_pool_stats_bytes{pool="m"})") > 0);
    CHECK(Value(page, R"(heapa_pool_reward_count{pool="m"})") >= 0);
    // One request at a time: the client's went out from the threads that completed them.
    CHECK(Value(page, "heapa_direct_replies_total") >= 1);

    // The official parser (python3-prometheus-client) reads the page too.
    const std::string file = dir.Sub("page.txt");
    std::ofstream(file) << page;
    const std::string cmd =
        "/usr/bin/python3 -c 'import sys; from prometheus_client.parser import "
        "text_string_to_metric_families as p; n = sum(1 for _ in p(open(sys.argv[1]).read())); "
        "sys.exit(0 if n > 10 else 1)' " +
        file;
    CHECK(std::system(cmd.c_str()) == 0);

    REQUIRE((*c)->Insert("m", std::vector<NewQuery>{testing::MakeQuery(4)}).ok());
    const std::string later = Body(Http(d.metrics_port(), "GET", "/metrics"));
    CHECK(Value(later, R"(heapa_requests_total{verb="Insert",result="ok"})") == 2);
    CHECK(Value(later, R"(heapa_pool_added_total{pool="m"})") == 4);

    CHECK(Http(d.metrics_port(), "GET", "/other").rfind("HTTP/1.1 404", 0) == 0);
    CHECK(Http(d.metrics_port(), "POST", "/metrics").rfind("HTTP/1.1 405", 0) == 0);
    CHECK(d.Stop() == 0);
  }
}
}  // namespace heapa
