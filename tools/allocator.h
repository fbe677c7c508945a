// Which allocator serves the process's malloc. heapad links jemalloc (CMake option HEAPA_JEMALLOC,
// on unless a sanitizer or fuzz build brings its own allocator): under many small requests from
// many clients, glibc's malloc and free took a fifth of heapad's CPU, and jemalloc served about
// 1.3 times the durable reports per second with a smaller resident set after a reopen (README,
// session 21). The library (heapa_storage, heapa_index, heapa_net) does not choose an allocator:
// an embedding program keeps its own.
#ifndef HEAPA_TOOLS_ALLOCATOR_H_
#define HEAPA_TOOLS_ALLOCATOR_H_

#include <string>

namespace heapa {

// True when this program was linked with jemalloc and a malloc of the calling thread is counted
// by jemalloc: false when it was built without jemalloc, and false when jemalloc is linked but
// malloc resolves elsewhere (an LD_PRELOAD of another allocator). Allocates and frees 1 MiB.
bool JemallocServesMalloc();

// One line for a log: "jemalloc <version>" when jemalloc serves malloc, "jemalloc <version>,
// linked but not serving malloc" when it is linked and does not, "the C library's malloc" when
// the program was built without jemalloc.
std::string AllocatorDescription();

}  // namespace heapa

#endif  // HEAPA_TOOLS_ALLOCATOR_H_
