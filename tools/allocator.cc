#include "tools/allocator.h"

#if HEAPA_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace heapa::tools {

std::string AllocatorName() {
#if HEAPA_WITH_JEMALLOC
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) == 0 && version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc (version unknown)";
#else
  return "glibc malloc";
#endif
}

}  // namespace heapa::tools
