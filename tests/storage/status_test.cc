#include "storage/status.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace heapa {
namespace {

using Code = Status::Code;

struct Factory {
  Status (*make)(std::string_view);
  Code code;
  std::string_view name;
};

const std::vector<Factory>& AllFactories() {
  static const std::vector<Factory> kFactories = {
      {&Status::NotFound, Code::kNotFound, "NotFound"},
      {&Status::AlreadyExists, Code::kAlreadyExists, "AlreadyExists"},
      {&Status::InvalidArgument, Code::kInvalidArgument, "InvalidArgument"},
      {&Status::FailedPrecondition, Code::kFailedPrecondition, "FailedPrecondition"},
      {&Status::ResourceExhausted, Code::kResourceExhausted, "ResourceExhausted"},
      {&Status::Corruption, Code::kCorruption, "Corruption"},
      {&Status::IOError, Code::kIOError, "IOError"},
      {&Status::Unavailable, Code::kUnavailable, "Unavailable"},
      {&Status::Internal, Code::kInternal, "Internal"},
      {&Status::UnknownOutcome, Code::kUnknownOutcome, "UnknownOutcome"},
  };
  return kFactories;
}

TEST_SUITE("storage/status") {
  TEST_CASE("OK is a single null pointer with code kOk and an empty message") {
    CHECK(sizeof(Status) == sizeof(void*));
    const Status ok = Status::OK();
    CHECK(ok.ok());
    CHECK(ok.code() == Code::kOk);
    CHECK(ok.message().empty());
    CHECK(ok.ToString() == "OK");
    const Status defaulted;
    CHECK(defaulted.ok());
    CHECK(defaulted.code() == Code::kOk);
  }

  TEST_CASE("every factory gives its code, keeps the message and is not OK") {
    for (const Factory& f : AllFactories()) {
      CAPTURE(f.name);
      const Status s = f.make("id 42 is missing");
      CHECK_FALSE(s.ok());
      CHECK(s.code() == f.code);
      CHECK(s.message() == "id 42 is missing");
      CHECK(Status::CodeName(s.code()) == f.name);
    }
  }

  TEST_CASE("an error with an empty message is still an error") {
    const Status s = Status::Internal("");
    CHECK_FALSE(s.ok());
    CHECK(s.code() == Code::kInternal);
    CHECK(s.message().empty());
    CHECK(s.ToString() == "Internal: ");
  }

  TEST_CASE("CodeName names every code and falls back to Unknown") {
    CHECK(Status::CodeName(Code::kOk) == "OK");
    for (const Factory& f : AllFactories()) CHECK(Status::CodeName(f.code) == f.name);
    CHECK(Status::CodeName(static_cast<Code>(200)) == "Unknown");
  }

  TEST_CASE("ToString is the code name, a colon and the message") {
    CHECK(Status::NotFound("S/42 not found").ToString() == "NotFound: S/42 not found");
    CHECK(Status::Corruption("checksum mismatch").ToString() == "Corruption: checksum mismatch");
    for (const Factory& f : AllFactories()) {
      CHECK(f.make("m").ToString() == std::string(f.name) + ": m");
    }
  }

  TEST_CASE("a message may hold arbitrary bytes, including NUL") {
    const std::string bytes("a\0b", 3);
    const Status s = Status::IOError(bytes);
    CHECK(s.message() == bytes);
    CHECK(s.ToString() == "IOError: " + bytes);
  }

  TEST_CASE("WithContext prefixes the message and keeps the code") {
    const Status base = Status::Corruption("checksum mismatch");
    const Status wrapped = base.WithContext("read S/7");
    CHECK(wrapped.code() == Code::kCorruption);
    CHECK(wrapped.message() == "read S/7: checksum mismatch");
    CHECK(wrapped.ToString() == "Corruption: read S/7: checksum mismatch");
    // The original is unchanged.
    CHECK(base.message() == "checksum mismatch");
    // Contexts nest outermost first.
    CHECK(wrapped.WithContext("open /p").message() == "open /p: read S/7: checksum mismatch");
  }

  TEST_CASE("AfterPublication makes any error an unknown outcome, naming the error") {
    CHECK(Status::OK().AfterPublication("drop p").ok());
    const Status s = Status::IOError("fsync failed").AfterPublication("drop p");
    CHECK(s.code() == Code::kUnknownOutcome);
    CHECK(s.message() == "drop p: IOError: fsync failed");
  }

  TEST_CASE("WithContext on OK stays OK") {
    const Status s = Status::OK().WithContext("open /p");
    CHECK(s.ok());
    CHECK(s.message().empty());
    CHECK(s.ToString() == "OK");
  }

  TEST_CASE("a copy is deep and independent of the original") {
    Status original = Status::NotFound("Q/1");
    const Status copy(original);
    CHECK(copy.code() == Code::kNotFound);
    CHECK(copy.message() == "Q/1");
    CHECK(copy.message().data() != original.message().data());
    original = Status::Internal("changed");
    CHECK(copy.code() == Code::kNotFound);
    CHECK(copy.message() == "Q/1");
  }

  TEST_CASE("copy assignment replaces the value, from OK and to OK") {
    Status s = Status::Unavailable("closing");
    const Status ok;
    s = ok;
    CHECK(s.ok());
    const Status err = Status::AlreadyExists("pool");
    s = err;
    CHECK(s.code() == Code::kAlreadyExists);
    CHECK(s.message() == "pool");
    CHECK(err.message() == "pool");
  }

  TEST_CASE("self copy assignment keeps the value") {
    Status s = Status::ResourceExhausted("full");
    const Status& alias = s;
    s = alias;
    CHECK(s.code() == Code::kResourceExhausted);
    CHECK(s.message() == "full");
  }

  TEST_CASE("a move transfers code and message without copying the message") {
    Status source = Status::FailedPrecondition("wrong lease 9");
    const char* data = source.message().data();
    Status moved(std::move(source));
    CHECK(moved.code() == Code::kFailedPrecondition);
    CHECK(moved.message() == "wrong lease 9");
    CHECK(moved.message().data() == data);

    Status target = Status::Internal("old");
    target = std::move(moved);
    CHECK(target.code() == Code::kFailedPrecondition);
    CHECK(target.message().data() == data);

    // A moved-from Status may be assigned again and used.
    source = Status::InvalidArgument("again");  // NOLINT(bugprone-use-after-move)
    CHECK(source.code() == Code::kInvalidArgument);
  }

  TEST_CASE("Statuses live in containers and survive reallocation") {
    std::vector<Status> v;
    for (int i = 0; i < 100; ++i) {
      v.push_back(i % 2 == 0 ? Status::OK() : Status::NotFound("k" + std::to_string(i)));
    }
    for (int i = 0; i < 100; ++i) {
      CAPTURE(i);
      if (i % 2 == 0) {
        CHECK(v[i].ok());
      } else {
        CHECK(v[i].message() == "k" + std::to_string(i));
      }
    }
  }
}

}  // namespace
}  // namespace heapa
