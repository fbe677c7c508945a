#include "net/frame.h"

namespace heapa::net {

uint32_t DecodeFrameLength(const unsigned char header[kFrameHeaderBytes]) {
  return static_cast<uint32_t>(header[0]) | (static_cast<uint32_t>(header[1]) << 8) |
         (static_cast<uint32_t>(header[2]) << 16) | (static_cast<uint32_t>(header[3]) << 24);
}

void EncodeFrameLength(uint32_t length, unsigned char header[kFrameHeaderBytes]) {
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) {
    header[i] = static_cast<unsigned char>((length >> (8 * i)) & 0xff);
  }
}

void AppendFrame(std::string_view body, std::string* out) {
  unsigned char header[kFrameHeaderBytes];
  EncodeFrameLength(static_cast<uint32_t>(body.size()), header);
  out->append(reinterpret_cast<const char*>(header), kFrameHeaderBytes);
  out->append(body);
}

}  // namespace heapa::net
