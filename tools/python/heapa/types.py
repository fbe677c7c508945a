"""The value types of the heapa Python client: what goes in and comes out of `Client`.

Every batch argument of the client accepts these dataclasses or plain dicts with the same
field names (`coerce`). The enums mirror `net/protocol.fbs` and are built from the code that
flatc generates from it, so they cannot drift from the schema.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from heapa.net.fb import Code as _Code
from heapa.net.fb import EvictionPolicy as _EvictionPolicy
from heapa.net.fb import Origin as _Origin
from heapa.net.fb import PathWeighting as _PathWeighting
from heapa.net.fb import QueryState as _QueryState
from heapa.net.fb import RefreshMode as _RefreshMode
from heapa.net.fb import ReportOutcome as _ReportOutcome
from heapa.net.fb import SamplingMode as _SamplingMode


def _enum(name: str, generated_class: type) -> type:
    members = {k: v for k, v in vars(generated_class).items() if not k.startswith("_")}
    return enum.IntEnum(name, members)


Code = _enum("Code", _Code.Code)
SamplingMode = _enum("SamplingMode", _SamplingMode.SamplingMode)
EvictionPolicy = _enum("EvictionPolicy", _EvictionPolicy.EvictionPolicy)
RefreshMode = _enum("RefreshMode", _RefreshMode.RefreshMode)
PathWeighting = _enum("PathWeighting", _PathWeighting.PathWeighting)
QueryState = _enum("QueryState", _QueryState.QueryState)
Origin = _enum("Origin", _Origin.Origin)
ReportOutcome = _enum("ReportOutcome", _ReportOutcome.ReportOutcome)


def _enum_value(enum_type: type, value: Any) -> int:
    """Accepts an enum member, its int value or its name (any case)."""
    if isinstance(value, str):
        return int(enum_type[value.upper()])
    return int(enum_type(value))


@dataclass
class PoolConfig:
    """The semantics of a pool, fixed at creation (see index/pool_options.h)."""

    max_size: int = 1_000_000
    low_fraction: float = 0.5
    sampling: SamplingMode = SamplingMode.MEDIUM
    eviction: EvictionPolicy = EvictionPolicy.REFERENCE
    reinsert_below: int = 0
    rng_seed: int = 0
    default_lease_ms: int = 600_000
    refresh: RefreshMode = RefreshMode.OFF
    path_weighting: PathWeighting = PathWeighting.SOFTMAX
    path_temperature: float = 1.0
    inverse_adjust: bool = False


@dataclass
class Query:
    """A query to insert. `reward` None: unscored (joins COLD)."""

    prompt: str
    answer: str = ""
    source: str = ""
    origin: Origin = Origin.SEED
    tokens: List[int] = field(default_factory=list)
    meta: Dict[str, str] = field(default_factory=dict)
    reward: Optional[float] = None
    step: int = 0


@dataclass
class Child:
    """An augmented child of 1..64 existing queries. Unvalidated children wait as PENDING."""

    parents: List[int]
    prompt: str
    answer: str = ""
    source: str = ""
    tokens: List[int] = field(default_factory=list)
    meta: Dict[str, str] = field(default_factory=dict)
    policy_difficulty: float = 1.0
    est_reward: Optional[float] = None
    validated: bool = False
    step: int = 0


@dataclass
class InsertResult:
    """`created` False: an identical (prompt, answer) existed; `id` names it."""

    id: int
    created: bool


@dataclass
class QueryRecord:
    """A stored query."""

    prompt: str = ""
    answer: str = ""
    source: str = ""
    origin: Origin = Origin.SEED
    tokens: List[int] = field(default_factory=list)
    meta: Dict[str, str] = field(default_factory=dict)
    created_step: int = 0
    created_ms: int = 0
    policy_difficulty: float = 1.0
    parents: List[int] = field(default_factory=list)


@dataclass
class Sampled:
    """One leased query. `query` is None when sampled without content."""

    id: int
    lease: int
    lease_deadline_ms: int
    from_state: QueryState
    reward: Optional[float]
    query: Optional[QueryRecord] = None


@dataclass
class ReportItem:
    """The rollout rewards of one sampled query, keyed by (id, lease)."""

    id: int
    lease: int
    rewards: List[float]
    step: int = 0


@dataclass
class QueryStateInfo:
    """Where a query is: its state, reward and lease."""

    state: QueryState
    prev_state: QueryState
    reward: Optional[float]
    seq: int
    times_sampled: int
    lease: int
    lease_deadline_ms: int


@dataclass
class QueryStats:
    """Running statistics over every reported rollout of a query."""

    reports: int
    rollouts: int
    mean: float
    variance: float
    min: float
    max: float
    zero_variance_streak: int
    last_step: int
    est_reward: Optional[float]


@dataclass
class QueryInfo:
    """Everything the pool knows about one query."""

    id: int
    query: QueryRecord
    state: QueryStateInfo
    stats: QueryStats


@dataclass
class Lineage:
    """Parents, children, and (id, depth) ancestors/descendants, nearest first."""

    parents: List[int]
    children: List[int]
    ancestors: List[Tuple[int, int]]
    descendants: List[Tuple[int, int]]


@dataclass
class PoolStats:
    """A point-in-time summary of a pool. `degraded` is empty when writable."""

    max_size: int
    pooled: int
    cold: int
    low: int
    high: int
    in_flight: int
    archived: int
    pending: int
    rejected: int
    evicted: int
    low_max: Optional[float]
    high_min: Optional[float]
    total_added: int
    total_duplicates: int
    total_sampled: int
    total_evicted: int
    total_reports: int
    total_reinserted: int
    total_expired: int
    durable_seq: int
    index_bytes: int
    stats_bytes: int  # memory of every query's running statistics
    degraded: str


@dataclass
class CheckpointInfo:
    """One checkpoint of a pool."""

    tag: str
    created_ms: int
    bytes: int


@dataclass
class Digest:
    """XXH3-128 of a pool's canonical state: equal operation sequences, equal digests."""

    high: int
    low: int


@dataclass
class ServerInfo:
    """What the daemon said in its Hello reply."""

    protocol_version: int
    server_version: str
    durable_seqs: Dict[str, int]


def coerce(cls: type, value: Any) -> Any:
    """Returns `value` as a `cls` dataclass: an instance as is, a mapping by field names.

    A plain string is a `Query` prompt; a tuple or list is positional (for `ReportItem`:
    (id, lease, rewards[, step])). TypeError names unknown fields.
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(value) - names
        if unknown:
            raise TypeError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
        return cls(**value)
    if isinstance(value, str) and cls is Query:
        return Query(prompt=value)
    if isinstance(value, (tuple, list)):
        return cls(*value)
    raise TypeError(f"cannot make a {cls.__name__} from {type(value).__name__}")


def to_dict(value: Any) -> Dict[str, Any]:
    """A dataclass result as a plain dict (enums stay IntEnum members)."""
    return dataclasses.asdict(value)
