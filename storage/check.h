// HEAPA_CHECK: a broken invariant is a bug, not a Status. Logs the condition and aborts,
// in every build type (asserts are never compiled out).
#ifndef HEAPA_STORAGE_CHECK_H_
#define HEAPA_STORAGE_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define HEAPA_CHECK(cond)                                                                 \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: HEAPA_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

#endif  // HEAPA_STORAGE_CHECK_H_
