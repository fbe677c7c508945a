// Conversions between the wire messages (protocol.fbs) and the pool's value types, for both
// the service and the client. Private to net/: it exposes the generated code.
//
// From*: read a verified message into a value (strings copied; absent fields default).
// Build*: write a value into a FlatBufferBuilder.
#ifndef HEAPA_NET_CONVERT_H_
#define HEAPA_NET_CONVERT_H_

#include <flatbuffers/flatbuffers.h>

#include <span>
#include <string>
#include <vector>

#include "index/pool_options.h"
#include "index/refresh.h"
#include "index/types.h"
#include "protocol_generated.h"
#include "storage/pool_dir.h"
#include "storage/status.h"

namespace heapa::net {

using Builder = flatbuffers::FlatBufferBuilder;

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
