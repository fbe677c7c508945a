#include "storage/result.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/status.h"

namespace heapa {
namespace {

// Small helpers in the shape of real callers, counting how far they got.
Result<int> ParsePositive(int v) {
  if (v <= 0) return Status::InvalidArgument("not positive: " + std::to_string(v));
  return v;
}

Status CheckEven(int v) {
  if (v % 2 != 0) return Status::FailedPrecondition("odd: " + std::to_string(v));
  return Status::OK();
}

struct Trace {
  int steps = 0;
};

// ASSIGN_OR_RETURN and RETURN_IF_ERROR in a function returning Result<T>.
Result<int> HalveIfPositiveEven(int v, Trace* trace) {
  HEAPA_ASSIGN_OR_RETURN(const int p, ParsePositive(v));
  ++trace->steps;
  HEAPA_RETURN_IF_ERROR(CheckEven(p));
  ++trace->steps;
  return p / 2;
}

// The same macros in a function returning Status, used twice in one scope.
Status SumTwo(int a, int b, int* sum, Trace* trace) {
  HEAPA_ASSIGN_OR_RETURN(const int x, ParsePositive(a));
  ++trace->steps;
  HEAPA_ASSIGN_OR_RETURN(const int y, ParsePositive(b));
  ++trace->steps;
  *sum = x + y;
  return Status::OK();
}

// Assigning into an existing variable, with a move-only value.
Result<std::unique_ptr<int>> MakeBox(int v) {
  if (v < 0) return Status::InvalidArgument("negative box");
  return std::make_unique<int>(v);
}

Status Unbox(int v, int* out) {
  std::unique_ptr<int> box;
  HEAPA_ASSIGN_OR_RETURN(box, MakeBox(v));
  *out = *box;
  return Status::OK();
}

// RETURN_IF_ERROR nested inside the expression of another one.
Status NestedCheck(int v, Trace* trace) {
  HEAPA_RETURN_IF_ERROR([&]() -> Status {
    HEAPA_RETURN_IF_ERROR(CheckEven(v));
    ++trace->steps;
    return Status::OK();
  }());
  ++trace->steps;
  return Status::OK();
}

TEST_SUITE("storage/result") {
  TEST_CASE("a Result holding a value is ok with an OK status") {
    Result<int> r(7);
    CHECK(r.ok());
    CHECK(r.status().ok());
    CHECK(r.value() == 7);
    CHECK(*r == 7);
    r.value() = 8;
    CHECK(*r == 8);
    const Result<int>& cr = r;
    CHECK(cr.value() == 8);
    CHECK(*cr == 8);
  }

  TEST_CASE("a Result holding an error returns that status unchanged") {
    const Result<int> r = Status::NotFound("Q/9 not found");
    CHECK_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kNotFound);
    CHECK(r.status().message() == "Q/9 not found");
    // status() returns a copy each time.
    CHECK(r.status().ToString() == r.status().ToString());
  }

  TEST_CASE("operator-> reaches members of the held value") {
    Result<std::string> r(std::string("prompt"));
    CHECK(r->size() == 6);
    r->append("!");
    const Result<std::string>& cr = r;
    CHECK(cr->size() == 7);
  }

  TEST_CASE("an rvalue Result moves its value out") {
    Result<std::unique_ptr<int>> r(std::make_unique<int>(5));
    std::unique_ptr<int> p = std::move(r).value();
    REQUIRE(p != nullptr);
    CHECK(*p == 5);

    Result<std::vector<int>> v(std::vector<int>{1, 2, 3});
    std::vector<int> taken = std::move(v).value();
    CHECK(taken == std::vector<int>{1, 2, 3});
  }

  TEST_CASE("ASSIGN_OR_RETURN and RETURN_IF_ERROR pass values through") {
    Trace trace;
    const Result<int> r = HalveIfPositiveEven(10, &trace);
    REQUIRE(r.ok());
    CHECK(*r == 5);
    CHECK(trace.steps == 2);
  }

  TEST_CASE("ASSIGN_OR_RETURN returns the error and skips the rest") {
    Trace trace;
    const Result<int> r = HalveIfPositiveEven(-3, &trace);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message() == "not positive: -3");
    CHECK(trace.steps == 0);
  }

  TEST_CASE("RETURN_IF_ERROR returns the error into a Result and skips the rest") {
    Trace trace;
    const Result<int> r = HalveIfPositiveEven(7, &trace);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kFailedPrecondition);
    CHECK(r.status().message() == "odd: 7");
    CHECK(trace.steps == 1);
  }

  TEST_CASE("two ASSIGN_OR_RETURN in one function propagate the first error") {
    int sum = -1;
    Trace ok_trace;
    CHECK(SumTwo(2, 3, &sum, &ok_trace).ok());
    CHECK(sum == 5);
    CHECK(ok_trace.steps == 2);

    sum = -1;
    Trace second;
    const Status s2 = SumTwo(2, 0, &sum, &second);
    CHECK(s2.message() == "not positive: 0");
    CHECK(second.steps == 1);
    CHECK(sum == -1);

    Trace first;
    const Status s1 = SumTwo(-1, -2, &sum, &first);
    CHECK(s1.message() == "not positive: -1");
    CHECK(first.steps == 0);
  }

  TEST_CASE("a RETURN_IF_ERROR nested in another propagates the inner error") {
    Trace ok_trace;
    CHECK(NestedCheck(4, &ok_trace).ok());
    CHECK(ok_trace.steps == 2);
    Trace err_trace;
    CHECK(NestedCheck(3, &err_trace).message() == "odd: 3");
    CHECK(err_trace.steps == 0);
  }

  TEST_CASE("ASSIGN_OR_RETURN assigns a move-only value to an existing variable") {
    int out = 0;
    CHECK(Unbox(11, &out).ok());
    CHECK(out == 11);
    out = 0;
    const Status s = Unbox(-1, &out);
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(out == 0);
  }
}

}  // namespace
}  // namespace heapa
