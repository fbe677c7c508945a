// heapa_bench built without hiredis: no Redis baseline (the redis target reports it skipped).
#include "tools/bench/target.h"

namespace heapa::bench {

std::unique_ptr<Target> NewRedisTarget(const TargetOptions&) { return nullptr; }

}  // namespace heapa::bench
