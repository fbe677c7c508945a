// The malloc this binary runs on, for heapad's start-up line and heapa-bench's header, so that
// every printed number says which allocator it was measured with.
//
// heapad and heapa-bench are linked with jemalloc when CMake's HEAPA_JEMALLOC is on (the
// default outside sanitizer and fuzz builds): it replaces malloc for the whole process,
// RocksDB included. Built with it, the translation unit gets HEAPA_WITH_JEMALLOC=1.
#ifndef HEAPA_TOOLS_ALLOCATOR_H_
#define HEAPA_TOOLS_ALLOCATOR_H_

#include <string>

namespace heapa::tools {

// "jemalloc VERSION" when this binary was linked with jemalloc, else "glibc malloc".
std::string AllocatorName();

}  // namespace heapa::tools

#endif  // HEAPA_TOOLS_ALLOCATOR_H_
