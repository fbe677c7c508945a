"""heapa: the Python client of the heapa prompt-pool daemon (heapad).

    import heapa
    with heapa.Client("127.0.0.1", 7411) as c:
        c.create_pool("math", max_size=100_000, rng_seed=1)
        c.insert("math", [{"prompt": "1+1?", "answer": "2"}])
        batch = c.sample("math", 4)
        c.report("math", [(s.id, s.lease, [1.0, -1.0]) for s in batch])

The protocol classes under `heapa.net.fb` are generated from net/protocol.fbs at build time
(CMake copies this package and the generated code to <build>/tools/python).
"""

from heapa.errors import *  # noqa: F401,F403 - the exception hierarchy is public API
from heapa.errors import HeapaError
from heapa.types import (CheckpointInfo, Child, Code, Digest, EvictionPolicy, InsertResult,
                         Lineage, Origin, PathWeighting, PoolConfig, PoolStats, Query,
                         QueryInfo, QueryRecord, QueryState, QueryStateInfo, QueryStats,
                         RefreshMode, ReportItem, ReportOutcome, Sampled, SamplingMode,
                         ServerInfo, to_dict)
from heapa.client import Client, PoolHandle

__all__ = [
    "Client", "PoolHandle", "HeapaError", "CheckpointInfo", "Child", "Code", "Digest",
    "EvictionPolicy", "InsertResult", "Lineage", "Origin", "PathWeighting", "PoolConfig",
    "PoolStats", "Query", "QueryInfo", "QueryRecord", "QueryState", "QueryStateInfo",
    "QueryStats", "RefreshMode", "ReportItem", "ReportOutcome", "Sampled", "SamplingMode",
    "ServerInfo", "to_dict",
]
