#include "tools/cli/format.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace heapa::cli {
namespace {

TEST_CASE("every report outcome has a name of its own") {
  std::set<std::string> names;
  for (const ReportOutcome o : {ReportOutcome::kApplied, ReportOutcome::kDuplicate,
                                ReportOutcome::kLate, ReportOutcome::kStale}) {
    const std::string name(OutcomeName(o));
    CAPTURE(name);
    CHECK(name != "unknown");
    CHECK(names.insert(name).second);
  }
  CHECK(OutcomeName(ReportOutcome::kStale) == "stale");
}

TEST_CASE("config enum names parse back to their values") {
  for (const std::string& n : SamplingNames()) CHECK(SamplingName(ParseSampling(n)) == n);
  for (const std::string& n : EvictionNames()) CHECK(EvictionName(ParseEviction(n)) == n);
  for (const std::string& n : RefreshNames()) CHECK(RefreshName(ParseRefresh(n)) == n);
  for (const std::string& n : WeightingNames()) CHECK(WeightingName(ParseWeighting(n)) == n);
}

}  // namespace
}  // namespace heapa::cli
