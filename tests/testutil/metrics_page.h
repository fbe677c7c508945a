// Reading heapad's metrics page (--metrics) in tests.
#ifndef HEAPA_TESTS_TESTUTIL_METRICS_PAGE_H_
#define HEAPA_TESTS_TESTUTIL_METRICS_PAGE_H_

#include <cstdint>
#include <string>

namespace heapa::testing {

// One HTTP/1.1 exchange with 127.0.0.1:`port`; the whole response (status line, headers, body).
std::string Http(uint16_t port, const std::string& method, const std::string& path);

// The body of an HTTP response ("" when it has none).
std::string Body(const std::string& response);

// The value of the sample named exactly `series` (name and labels) in a metrics page, or -1.
double Value(const std::string& page, const std::string& series);

// GET /metrics on `port`, then the value of `series` in its body (or -1).
double ScrapeValue(uint16_t port, const std::string& series);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_METRICS_PAGE_H_
