// heapa::Result<T>: a value or a non-OK Status, and the propagation macros.
//
// Maps one-to-one onto C++23 std::expected<T, Status>. Accessing value() of an error Result
// is a bug and aborts (HEAPA_CHECK), in every build type.
//
// Thread safety: a plain value type.
#ifndef HEAPA_STORAGE_RESULT_H_
#define HEAPA_STORAGE_RESULT_H_

#include <utility>
#include <variant>

#include "storage/check.h"
#include "storage/status.h"

namespace heapa {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  // REQUIRES: !status.ok()
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    HEAPA_CHECK(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  T& value() & {
    HEAPA_CHECK(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    HEAPA_CHECK(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    HEAPA_CHECK(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace heapa

#define HEAPA_CONCAT_INNER_(a, b) a##b
#define HEAPA_CONCAT_(a, b) HEAPA_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function when `expr` is not OK. Nests (each expansion
// gets its own temporary).
#define HEAPA_RETURN_IF_ERROR(expr) \
  HEAPA_RETURN_IF_ERROR_IMPL_(HEAPA_CONCAT_(heapa_status_, __COUNTER__), expr)
#define HEAPA_RETURN_IF_ERROR_IMPL_(tmp, expr) \
  do {                                         \
    ::heapa::Status tmp = (expr);              \
    if (!tmp.ok()) return tmp;                 \
  } while (0)

// `decl = value of expr`, or returns its Status from the enclosing function.
#define HEAPA_ASSIGN_OR_RETURN(decl, expr) \
  HEAPA_ASSIGN_OR_RETURN_IMPL_(HEAPA_CONCAT_(heapa_result_, __COUNTER__), decl, expr)
#define HEAPA_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  decl = std::move(tmp).value()

#endif  // HEAPA_STORAGE_RESULT_H_
