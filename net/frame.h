// Framing of the wire protocol: a 4-byte little-endian length, then that many bytes.
#ifndef HEAPA_NET_FRAME_H_
#define HEAPA_NET_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace heapa::net {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 4;
inline constexpr size_t kDefaultMaxFrameBytes = 16u << 20;

// The body length announced by a 4-byte header, and the header announcing `length`.
uint32_t DecodeFrameLength(const unsigned char header[kFrameHeaderBytes]);
void EncodeFrameLength(uint32_t length, unsigned char header[kFrameHeaderBytes]);
// Appends header and body.
void AppendFrame(std::string_view body, std::string* out);

}  // namespace heapa::net

#endif  // HEAPA_NET_FRAME_H_
