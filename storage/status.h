// heapa::Status: the outcome of an operation that can fail.
//
// A Status is OK (one null pointer, free to copy) or carries a code and a human-readable
// message that names the offending fact (an id, a key, a limit). Errors are values in heapa:
// no exception crosses a layer boundary.
//
// Thread safety: const methods may be called concurrently; a Status is a plain value.
#ifndef HEAPA_STORAGE_STATUS_H_
#define HEAPA_STORAGE_STATUS_H_

#include <memory>
#include <string>
#include <string_view>

namespace heapa {

class [[nodiscard]] Status {
 public:
  // Keep this set small; pick the most precise code. The net layer maps it to wire codes.
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,            // an id, key or file that does not exist
    kAlreadyExists,       // creating something that exists
    kInvalidArgument,     // the request itself is malformed (bad value, oversize field)
    kFailedPrecondition,  // well-formed, but wrong for the current state (wrong lease, wrong state)
    kResourceExhausted,   // a limit was reached
    kCorruption,          // stored bytes fail verification
    kIOError,             // the file system or storage engine failed
    kUnavailable,         // the pool is degraded (read-only) or shutting down
    kInternal,            // a bug: an invariant did not hold
    kUnknownOutcome,      // a durable write failed after it started: it may or may not be applied
  };

  Status() = default;  // OK
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status AlreadyExists(std::string_view msg) { return Status(Code::kAlreadyExists, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status FailedPrecondition(std::string_view msg) {
    return Status(Code::kFailedPrecondition, msg);
  }
  static Status ResourceExhausted(std::string_view msg) {
    return Status(Code::kResourceExhausted, msg);
  }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status Internal(std::string_view msg) { return Status(Code::kInternal, msg); }
  static Status UnknownOutcome(std::string_view msg) { return Status(Code::kUnknownOutcome, msg); }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  // The message without the code name; empty for OK.
  std::string_view message() const { return rep_ ? std::string_view(rep_->message) : ""; }
  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;
  // For an error after the effect of a request was published, which it does not take back:
  // UnknownOutcome("<context>: <code>: <message>"), never a definite rejection; OK stays OK.
  Status AfterPublication(std::string_view context) const;

  static std::string_view CodeName(Code code);

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view msg);

  std::unique_ptr<Rep> rep_;
};

}  // namespace heapa

#endif  // HEAPA_STORAGE_STATUS_H_
