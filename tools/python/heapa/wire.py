"""Encoding of requests and decoding of responses of the heapa wire protocol, version 1.

`net/protocol.fbs` is the specification; the classes under `heapa.net.fb` are generated from
it by flatc at build time. This module turns the client's dataclasses into `Request` frames
and `Response` frames back into dataclasses. No I/O here.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import flatbuffers

from heapa import types as t
from heapa.net.fb import (Checkpoint, Child, CountReply, DigestReply, Fork, Get, GetConfig,
                          GetConfigReply, GetReply, Hello, HelloReply, Insert, InsertChildren,
                          InsertReply, KeyValue, Lineage, LineageReply, ListCheckpoints,
                          ListCheckpointsReply, PoolConfig, PoolCreate, PoolDrop, PoolList,
                          PoolListReply, PoolStats, PoolStatsReply, Query, Recover, Refresh,
                          RefreshReply, Reinsert, Report, ReportItem, ReportReply, Request,
                          RequestBody, Response, Restore, Sample, SampleReply, Validate)
from heapa.net.fb import Digest as DigestReq
from heapa.net.fb import VerifyIndex as VerifyIndexReq

try:  # numpy makes large numeric vectors fast; the client works without it.
    import numpy as _np
except ImportError:  # pragma: no cover - Debian's matplotlib pulls numpy in
    _np = None

PROTOCOL_VERSION = 1
FRAME_HEADER = struct.Struct("<I")
Body = RequestBody.RequestBody
Builder = flatbuffers.Builder

# ---- Building blocks.


def _string(b: Builder, s: Optional[str]) -> int:
    return b.CreateString(s) if s is not None else 0


def _scalars(b: Builder, values: Sequence, fmt: str, size: int, prepend: Callable) -> int:
    if _np is not None:
        return b.CreateNumpyVector(_np.asarray(values, dtype="<" + fmt))
    b.StartVector(size, len(values), size)
    for v in reversed(values):
        prepend(v)
    return b.EndVector()


def _u64s(b: Builder, values: Sequence[int]) -> int:
    return _scalars(b, [int(v) for v in values], "u8", 8, b.PrependUint64)


def _u32s(b: Builder, values: Sequence[int]) -> int:
    return _scalars(b, [int(v) for v in values], "u4", 4, b.PrependUint32)


def _f64s(b: Builder, values: Sequence[float]) -> int:
    return _scalars(b, [float(v) for v in values], "f8", 8, b.PrependFloat64)


def _tables(b: Builder, offsets: Sequence[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _meta(b: Builder, meta: Dict[str, str]) -> int:
    kvs = []
    for k, v in meta.items():
        ko, vo = b.CreateString(str(k)), b.CreateString(str(v))
        KeyValue.Start(b)
        KeyValue.AddKey(b, ko)
        KeyValue.AddValue(b, vo)
        kvs.append(KeyValue.End(b))
    return _tables(b, kvs)


def _empty(module: Any) -> Callable[[Builder], int]:
    def build(b: Builder) -> int:
        module.Start(b)
        return module.End(b)
    return build


# ---- Requests. Each `*_body` returns (body type, function building the body table).


def hello_body(client_id: int, auth_token: str, client_name: str):
    def build(b: Builder) -> int:
        tok, name = b.CreateString(auth_token), b.CreateString(client_name)
        Hello.Start(b)
        Hello.AddProtocolVersion(b, PROTOCOL_VERSION)
        Hello.AddClientId(b, client_id)
        Hello.AddAuthToken(b, tok)
        Hello.AddClientName(b, name)
        return Hello.End(b)
    return Body.Hello, build


def _config(b: Builder, c: t.PoolConfig) -> int:
    PoolConfig.Start(b)
    PoolConfig.AddMaxSize(b, int(c.max_size))
    PoolConfig.AddLowFraction(b, float(c.low_fraction))
    PoolConfig.AddSampling(b, t._enum_value(t.SamplingMode, c.sampling))
    PoolConfig.AddEviction(b, t._enum_value(t.EvictionPolicy, c.eviction))
    PoolConfig.AddReinsertBelow(b, int(c.reinsert_below))
    PoolConfig.AddRngSeed(b, int(c.rng_seed))
    PoolConfig.AddDefaultLeaseMs(b, int(c.default_lease_ms))
    PoolConfig.AddRefresh(b, t._enum_value(t.RefreshMode, c.refresh))
    PoolConfig.AddPathWeighting(b, t._enum_value(t.PathWeighting, c.path_weighting))
    PoolConfig.AddPathTemperature(b, float(c.path_temperature))
    PoolConfig.AddInverseAdjust(b, bool(c.inverse_adjust))
    return PoolConfig.End(b)


def pool_list_body():
    return Body.PoolList, _empty(PoolList)


def pool_create_body(name: str, config: t.PoolConfig):
    def build(b: Builder) -> int:
        n, c = b.CreateString(name), _config(b, config)
        PoolCreate.Start(b)
        PoolCreate.AddName(b, n)
        PoolCreate.AddConfig(b, c)
        return PoolCreate.End(b)
    return Body.PoolCreate, build


def pool_drop_body(name: str):
    def build(b: Builder) -> int:
        n = b.CreateString(name)
        PoolDrop.Start(b)
        PoolDrop.AddName(b, n)
        return PoolDrop.End(b)
    return Body.PoolDrop, build


def get_config_body():
    return Body.GetConfig, _empty(GetConfig)


def _query(b: Builder, q: t.Query) -> int:
    prompt, answer, source = b.CreateString(q.prompt), b.CreateString(q.answer), b.CreateString(
        q.source)
    tokens = _u32s(b, q.tokens) if q.tokens else 0
    meta = _meta(b, q.meta) if q.meta else 0
    Query.Start(b)
    Query.AddPrompt(b, prompt)
    Query.AddAnswer(b, answer)
    Query.AddSource(b, source)
    Query.AddOrigin(b, t._enum_value(t.Origin, q.origin))
    if tokens:
        Query.AddTokens(b, tokens)
    if meta:
        Query.AddMeta(b, meta)
    Query.AddHasReward(b, q.reward is not None)
    Query.AddReward(b, float(q.reward) if q.reward is not None else 0.0)
    Query.AddStep(b, int(q.step))
    return Query.End(b)


def insert_body(queries: List[t.Query]):
    def build(b: Builder) -> int:
        qs = _tables(b, [_query(b, q) for q in queries])
        Insert.Start(b)
        Insert.AddQueries(b, qs)
        return Insert.End(b)
    return Body.Insert, build


def _child(b: Builder, c: t.Child) -> int:
    parents = _u64s(b, c.parents)
    prompt, answer, source = b.CreateString(c.prompt), b.CreateString(c.answer), b.CreateString(
        c.source)
    tokens = _u32s(b, c.tokens) if c.tokens else 0
    meta = _meta(b, c.meta) if c.meta else 0
    Child.Start(b)
    Child.AddParents(b, parents)
    Child.AddPrompt(b, prompt)
    Child.AddAnswer(b, answer)
    Child.AddSource(b, source)
    if tokens:
        Child.AddTokens(b, tokens)
    if meta:
        Child.AddMeta(b, meta)
    Child.AddPolicyDifficulty(b, float(c.policy_difficulty))
    Child.AddHasEstReward(b, c.est_reward is not None)
    Child.AddEstReward(b, float(c.est_reward) if c.est_reward is not None else 0.0)
    Child.AddValidated(b, bool(c.validated))
    Child.AddStep(b, int(c.step))
    return Child.End(b)


def insert_children_body(children: List[t.Child]):
    def build(b: Builder) -> int:
        cs = _tables(b, [_child(b, c) for c in children])
        InsertChildren.Start(b)
        InsertChildren.AddChildren(b, cs)
        return InsertChildren.End(b)
    return Body.InsertChildren, build


def validate_body(query_id: int, accept: bool, answer: Optional[str],
                  teacher_difficulty: Optional[float]):
    def build(b: Builder) -> int:
        a = _string(b, answer)
        Validate.Start(b)
        Validate.AddId(b, int(query_id))
        Validate.AddAccept(b, bool(accept))
        if a:
            Validate.AddAnswer(b, a)
        Validate.AddHasTeacherDifficulty(b, teacher_difficulty is not None)
        Validate.AddTeacherDifficulty(b, float(teacher_difficulty or 0.0))
        return Validate.End(b)
    return Body.Validate, build


def sample_body(count: int, lease_ms: int, with_content: bool):
    def build(b: Builder) -> int:
        Sample.Start(b)
        Sample.AddCount(b, int(count))
        Sample.AddLeaseMs(b, int(lease_ms))
        Sample.AddWithContent(b, bool(with_content))
        return Sample.End(b)
    return Body.Sample, build


def report_body(items: List[t.ReportItem]):
    def build(b: Builder) -> int:
        offs = []
        for it in items:
            rewards = _f64s(b, it.rewards)
            ReportItem.Start(b)
            ReportItem.AddId(b, int(it.id))
            ReportItem.AddLease(b, int(it.lease))
            ReportItem.AddRewards(b, rewards)
            ReportItem.AddStep(b, int(it.step))
            offs.append(ReportItem.End(b))
        vec = _tables(b, offs)
        Report.Start(b)
        Report.AddItems(b, vec)
        return Report.End(b)
    return Body.Report, build


def reinsert_body():
    return Body.Reinsert, _empty(Reinsert)


def recover_body():
    return Body.Recover, _empty(Recover)


def refresh_body(use_pool_config: bool, mode: int, weighting: int, temperature: float,
                 inverse_adjust: bool):
    def build(b: Builder) -> int:
        Refresh.Start(b)
        Refresh.AddUsePoolConfig(b, bool(use_pool_config))
        Refresh.AddMode(b, int(mode))
        Refresh.AddWeighting(b, int(weighting))
        Refresh.AddTemperature(b, float(temperature))
        Refresh.AddInverseAdjust(b, bool(inverse_adjust))
        return Refresh.End(b)
    return Body.Refresh, build


def get_body(query_id: int):
    def build(b: Builder) -> int:
        Get.Start(b)
        Get.AddId(b, int(query_id))
        return Get.End(b)
    return Body.Get, build


def lineage_body(query_id: int, max_depth: int):
    def build(b: Builder) -> int:
        Lineage.Start(b)
        Lineage.AddId(b, int(query_id))
        Lineage.AddMaxDepth(b, int(max_depth))
        return Lineage.End(b)
    return Body.Lineage, build


def pool_stats_body():
    return Body.PoolStats, _empty(PoolStats)


def _tag_body(module: Any, body_type: int, tag: str):
    def build(b: Builder) -> int:
        s = b.CreateString(tag)
        module.Start(b)
        module.AddTag(b, s)
        return module.End(b)
    return body_type, build


def checkpoint_body(tag: str):
    return _tag_body(Checkpoint, Body.Checkpoint, tag)


def restore_body(tag: str):
    return _tag_body(Restore, Body.Restore, tag)


def list_checkpoints_body():
    return Body.ListCheckpoints, _empty(ListCheckpoints)


def fork_body(new_pool: str, tag: Optional[str]):
    def build(b: Builder) -> int:
        n, tg = b.CreateString(new_pool), _string(b, tag)
        Fork.Start(b)
        Fork.AddNewPool(b, n)
        if tg:
            Fork.AddTag(b, tg)
        return Fork.End(b)
    return Body.Fork, build


def digest_body():
    return Body.Digest, _empty(DigestReq)


def verify_index_body():
    return Body.VerifyIndex, _empty(VerifyIndexReq)


def encode_request(request_id: int, pool: str, body: Tuple[int, Callable[[Builder], int]]) -> bytes:
    """A finished `Request` FlatBuffer (without the frame header)."""
    body_type, build = body
    b = flatbuffers.Builder(1024)
    body_off = build(b)
    pool_off = b.CreateString(pool)
    Request.Start(b)
    Request.AddRequestId(b, int(request_id))
    Request.AddPool(b, pool_off)
    Request.AddBodyType(b, body_type)
    Request.AddBody(b, body_off)
    b.Finish(Request.End(b))
    return bytes(b.Output())


def frame(payload: bytes) -> bytes:
    """`payload` with its 4-byte little-endian length in front."""
    return FRAME_HEADER.pack(len(payload)) + payload


# ---- Responses.


def _text(s: Optional[bytes]) -> str:
    return s.decode("utf-8", "replace") if s is not None else ""


class Reply:
    """A decoded `Response` envelope; `body(cls)` reads the body as one generated table."""

    def __init__(self, buf: bytes):
        self._r = Response.Response.GetRootAs(buf, 0)
        self.request_id: int = self._r.RequestId()
        self.code: int = self._r.Code()
        self.message: str = _text(self._r.Message())
        self.durable_seq: int = self._r.DurableSeq()
        self.body_type: int = self._r.BodyType()

    def body(self, cls: type) -> Any:
        table = self._r.Body()
        if table is None:
            return None
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        return obj


def _list(n: int, get: Callable[[int], Any]) -> list:
    return [get(i) for i in range(n)]


def _meta_dict(obj: Any) -> Dict[str, str]:
    return {_text(kv.Key()): _text(kv.Value())
            for kv in (obj.Meta(i) for i in range(obj.MetaLength()))}


def decode_hello(r: Reply) -> t.ServerInfo:
    h = r.body(HelloReply.HelloReply)
    if h is None:
        return t.ServerInfo(0, "", {})
    pools = {_text(p.Pool()): p.DurableSeq() for p in (h.Pools(i) for i in range(h.PoolsLength()))}
    return t.ServerInfo(h.ProtocolVersion(), _text(h.ServerVersion()), pools)


def decode_pool_list(r: Reply) -> List[str]:
    x = r.body(PoolListReply.PoolListReply)
    return [] if x is None else _list(x.NamesLength(), lambda i: _text(x.Names(i)))


def decode_config(r: Reply) -> t.PoolConfig:
    x = r.body(GetConfigReply.GetConfigReply)
    c = x.Config() if x is not None else None
    if c is None:
        return t.PoolConfig()
    return t.PoolConfig(
        max_size=c.MaxSize(), low_fraction=c.LowFraction(), sampling=t.SamplingMode(c.Sampling()),
        eviction=t.EvictionPolicy(c.Eviction()), reinsert_below=c.ReinsertBelow(),
        rng_seed=c.RngSeed(), default_lease_ms=c.DefaultLeaseMs(),
        refresh=t.RefreshMode(c.Refresh()), path_weighting=t.PathWeighting(c.PathWeighting()),
        path_temperature=c.PathTemperature(), inverse_adjust=bool(c.InverseAdjust()))


def decode_insert(r: Reply) -> List[t.InsertResult]:
    x = r.body(InsertReply.InsertReply)
    if x is None:
        return []
    return [t.InsertResult(res.Id(), bool(res.Created()))
            for res in (x.Results(i) for i in range(x.ResultsLength()))]


def _record(q: Any) -> t.QueryRecord:
    return t.QueryRecord(
        prompt=_text(q.Prompt()), answer=_text(q.Answer()), source=_text(q.Source()),
        origin=t.Origin(q.Origin()), tokens=_list(q.TokensLength(), q.Tokens),
        meta=_meta_dict(q), created_step=q.CreatedStep(), created_ms=q.CreatedMs(),
        policy_difficulty=q.PolicyDifficulty(), parents=_list(q.ParentsLength(), q.Parents))


def decode_sample(r: Reply) -> List[t.Sampled]:
    x = r.body(SampleReply.SampleReply)
    out = []
    for i in range(x.ItemsLength() if x is not None else 0):
        s = x.Items(i)
        q = s.Query()
        out.append(t.Sampled(
            id=s.Id(), lease=s.Lease(), lease_deadline_ms=s.LeaseDeadlineMs(),
            from_state=t.QueryState(s.From_()), reward=s.Reward() if s.HasReward() else None,
            query=_record(q) if q is not None else None))
    return out


def decode_report(r: Reply) -> List[t.ReportOutcome]:
    x = r.body(ReportReply.ReportReply)
    return [] if x is None else _list(x.OutcomesLength(), lambda i: t.ReportOutcome(x.Outcomes(i)))


def decode_count(r: Reply) -> int:
    x = r.body(CountReply.CountReply)
    return 0 if x is None else x.Count()


def decode_refresh(r: Reply) -> Dict[int, float]:
    x = r.body(RefreshReply.RefreshReply)
    if x is None or x.IdsLength() != x.ValuesLength():
        return {}
    return {x.Ids(i): x.Values(i) for i in range(x.IdsLength())}


def decode_get(r: Reply) -> t.QueryInfo:
    x = r.body(GetReply.GetReply)
    s, st = x.State(), x.Stats()
    state = t.QueryStateInfo(
        state=t.QueryState(s.State()), prev_state=t.QueryState(s.PrevState()),
        reward=s.Reward() if s.HasReward() else None, seq=s.Seq(),
        times_sampled=s.TimesSampled(), lease=s.Lease(), lease_deadline_ms=s.LeaseDeadlineMs())
    stats = t.QueryStats(
        reports=st.Reports(), rollouts=st.Rollouts(), mean=st.Mean(), variance=st.Variance(),
        min=st.Min(), max=st.Max(), zero_variance_streak=st.ZeroVarianceStreak(),
        last_step=st.LastStep(), est_reward=st.EstReward() if st.HasEstReward() else None)
    return t.QueryInfo(id=x.Id(), query=_record(x.Query()), state=state, stats=stats)


def decode_lineage(r: Reply) -> t.Lineage:
    x = r.body(LineageReply.LineageReply)

    def nodes(n: int, get: Callable) -> List[Tuple[int, int]]:
        return [(node.Id(), node.Depth()) for node in (get(i) for i in range(n))]

    return t.Lineage(parents=_list(x.ParentsLength(), x.Parents),
                     children=_list(x.ChildrenLength(), x.Children),
                     ancestors=nodes(x.AncestorsLength(), x.Ancestors),
                     descendants=nodes(x.DescendantsLength(), x.Descendants))


def decode_stats(r: Reply) -> t.PoolStats:
    x = r.body(PoolStatsReply.PoolStatsReply)
    return t.PoolStats(
        max_size=x.MaxSize(), pooled=x.Pooled(), cold=x.Cold(), low=x.Low(), high=x.High(),
        in_flight=x.InFlight(), archived=x.Archived(), pending=x.Pending(),
        rejected=x.Rejected(), evicted=x.Evicted(),
        low_max=x.LowMax() if x.HasLowMax() else None,
        high_min=x.HighMin() if x.HasHighMin() else None,
        total_added=x.TotalAdded(), total_duplicates=x.TotalDuplicates(),
        total_sampled=x.TotalSampled(), total_evicted=x.TotalEvicted(),
        total_reports=x.TotalReports(), total_reinserted=x.TotalReinserted(),
        total_expired=x.TotalExpired(), durable_seq=x.DurableSeq(), index_bytes=x.IndexBytes(),
        stats_bytes=x.StatsBytes(), degraded=_text(x.Degraded()))


def decode_checkpoints(r: Reply) -> List[t.CheckpointInfo]:
    x = r.body(ListCheckpointsReply.ListCheckpointsReply)
    if x is None:
        return []
    return [t.CheckpointInfo(_text(c.Tag()), c.CreatedMs(), c.Bytes())
            for c in (x.Checkpoints(i) for i in range(x.CheckpointsLength()))]


def decode_digest(r: Reply) -> t.Digest:
    x = r.body(DigestReply.DigestReply)
    return t.Digest(x.High(), x.Low())


def decode_none(r: Reply) -> None:
    return None
