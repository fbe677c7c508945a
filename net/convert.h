// Conversions between the wire messages (protocol.fbs) and the pool's value types, for both
// the service and the client. Private to net/: it exposes the generated code.
//
// From*: read a verified message into a value (strings copied; absent fields default).
// Build*: write a value into a FlatBufferBuilder.
#ifndef HEAPA_NET_CONVERT_H_
#define HEAPA_NET_CONVERT_H_

#include <flatbuffers/flatbuffers.h>

#include <bit>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "index/pool_options.h"
#include "index/refresh.h"
#include "index/types.h"
#include "protocol_generated.h"
#include "storage/pool_dir.h"
#include "storage/status.h"

namespace heapa::net {

using Builder = flatbuffers::FlatBufferBuilder;

// Elements of a verified vector, wherever they sit. FlatBuffers 2.0.8's Verifier checks only the
// 4-byte alignment of a vector's length, so a peer's frame can pass verification with 8-byte
// elements (u64, double, structs holding them) 4 bytes off their alignment; reading those in
// place (the vector's iterators, Get, a struct's accessors) is undefined behaviour. These copy
// the bytes instead, so every 8-byte vector of a message is read through them.
static_assert(std::endian::native == std::endian::little, "FlatBuffers scalars are little-endian");

template <typename T>
std::vector<T> CopyElements(const flatbuffers::Vector<T>* v) {
  static_assert(std::is_arithmetic_v<T>);
  if (v == nullptr || v->size() == 0) return {};
  std::vector<T> out(v->size());
  std::memcpy(out.data(), v->Data(), out.size() * sizeof(T));
  return out;
}

// The i-th struct of a vector of structs, copied out (i < v->size()).
template <typename S>
S StructAt(const flatbuffers::Vector<const S*>* v, flatbuffers::uoffset_t i) {
  static_assert(std::is_trivially_copyable_v<S>);
  S out;
  std::memcpy(&out, v->Data() + size_t{i} * sizeof(S), sizeof(S));
  return out;
}

// Status <-> wire code. UnknownOutcome and the protocol-level codes are distinct on the wire.
fb::Code ToWireCode(Status::Code code);
Status FromWire(fb::Code code, std::string_view message);

PoolConfig FromWire(const fb::PoolConfig* c);
flatbuffers::Offset<fb::PoolConfig> BuildConfig(Builder& b, const PoolConfig& c);

NewQuery FromWire(const fb::Query* q);
flatbuffers::Offset<fb::Query> BuildQuery(Builder& b, const NewQuery& q);

NewChild FromWire(const fb::Child* c);
flatbuffers::Offset<fb::Child> BuildChild(Builder& b, const NewChild& c);

ReportItem FromWire(const fb::ReportItem* r);
flatbuffers::Offset<fb::ReportItem> BuildReportItem(Builder& b, const ReportItem& r);

QueryRecord FromWire(const fb::QueryRecord* q);
flatbuffers::Offset<fb::QueryRecord> BuildQueryRecord(Builder& b, const QueryRecord& q);

SampledQuery FromWire(const fb::Sampled* s);
flatbuffers::Offset<fb::Sampled> BuildSampled(Builder& b, const SampledQuery& s);

QueryInfo FromWire(const fb::GetReply* g);
flatbuffers::Offset<fb::GetReply> BuildGetReply(Builder& b, const QueryInfo& info);

LineageView FromWire(const fb::LineageReply* l);
flatbuffers::Offset<fb::LineageReply> BuildLineageReply(Builder& b, const LineageView& v);

PoolStats FromWire(const fb::PoolStatsReply* s);
flatbuffers::Offset<fb::PoolStatsReply> BuildStatsReply(Builder& b, const PoolStats& s);

index::RefreshOptions FromWire(const fb::Refresh* r);

}  // namespace heapa::net

#endif  // HEAPA_NET_CONVERT_H_
