#include "tools/allocator.h"

#include <cstdint>
#include <cstdlib>

#ifdef HEAPA_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace heapa {

bool JemallocServesMalloc() {
#ifdef HEAPA_WITH_JEMALLOC
  // thread.allocatedp points at jemalloc's count of the bytes this thread has allocated
  // through it; a malloc served by another allocator leaves the count where it was.
  uint64_t* allocated = nullptr;
  size_t size = sizeof(allocated);
  if (mallctl("thread.allocatedp", &allocated, &size, nullptr, 0) != 0) return false;
  // Both volatile: the compiler knows malloc touches no memory the program can see, so it
  // would otherwise drop the call or read the count once for both.
  const volatile uint64_t* count = allocated;
  constexpr size_t kProbe = size_t{1} << 20;
  const uint64_t before = *count;
  asm volatile("" ::: "memory");  // nor may it move the call before the first read
  void* volatile probe = std::malloc(kProbe);
  asm volatile("" ::: "memory");
  const uint64_t after = *count;
  std::free(probe);
  return after - before >= kProbe;
#else
  return false;
#endif
}

std::string AllocatorDescription() {
#ifdef HEAPA_WITH_JEMALLOC
  const char* version = nullptr;
  size_t size = sizeof(version);
  std::string name = "jemalloc";
  if (mallctl("version", &version, &size, nullptr, 0) == 0 && version != nullptr) {
    name += " ";
    name += version;
  }
  if (!JemallocServesMalloc()) name += ", linked but not serving malloc";
  return name;
#else
  return "the C library's malloc";
#endif
}

}  // namespace heapa
