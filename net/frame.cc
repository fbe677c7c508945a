#include "net/frame.h"

namespace heapa::net {

uint32_t DecodeFrameLength(const unsigned char header[kFrameHeaderBytes]) {
  return static_cast<uint32_t>(header[0]) | (static_cast<uint32_t>(header[1]) << 8) |
         (static_cast<uint32_t>(header[2]) << 16) | (static_cast<uint32_t>(header[3]) << 24);
}

void AppendFrame(std::string_view body, std::string* out) {
  const uint32_t n = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out->append(body);
}

}  // namespace heapa::net
