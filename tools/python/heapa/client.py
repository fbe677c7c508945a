"""`Client`: a blocking Python client of heapad, modelled on the C++ `net::Client`.

One TCP connection, opened with a Hello. Each call sends one request and waits for its
response, within `timeout` seconds. Mutating requests (insert, insert_children, validate,
sample, report, reinsert, recover, and the admin requests create/drop pools, checkpoint,
restore, fork) carry a request id, consecutive per client id (admin requests counting apart);
when the connection breaks (a
send or receive error, a timeout, the daemon restarting) the client reconnects, says Hello
again and resends the same request with the same id, so the daemon returns the result of the
first attempt if it was applied (exactly once; see net/PROTOCOL.md). Reads are retried the
same way. A mutation that was sent but never answered in `max_attempts` attempts raises
`UnknownOutcomeError`; a resent admin request answered RESOURCE_EXHAUSTED (its original may
still be running) is asked again. A Hello the daemon rejects (a wrong token or version, too many
connections) raises at once, without retrying.

On every Hello the client compares each pool's durable sequence number with the highest one
it has seen and raises `LostWritesError` if the daemon went backwards (reliability-plan R6).

The client id identifies a client across reconnects. Request ids restart at 1 in every new
`Client`, so a new process must not reuse an old process's client id (the default, 0, picks
a random one).

Thread safety: none; use one Client per thread.
"""

from __future__ import annotations

import random
import socket
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence

from heapa import errors
from heapa import types as t
from heapa import wire

_MAX_RESPONSE_BYTES = 64 << 20
_CLOSING_CODES = (t.Code.FRAME_TOO_LARGE, t.Code.TOO_MANY_CONNECTIONS)


class _TransportError(Exception):
    """The connection failed (internal: becomes a retry or an UnavailableError)."""


class Client:
    """A connection to heapad. Use as a context manager, or call `close()`.

    Args:
      host, port: where heapad listens.
      auth_token: needed when the daemon runs with --auth-token-file.
      timeout: seconds per attempt (connect, send and receive).
      max_attempts: per request, reconnects included.
      retry_backoff: seconds before the second attempt, doubled each time, capped at 2 s.
      client_id: identifies this client for exactly-once retries; 0 picks a random one.
        Never reuse one across processes: its request ids would match old results and
        request markers.
      client_name: for the daemon's logs.
      connect: False delays connecting to the first call.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 7411, *, auth_token: str = "",
                 timeout: float = 30.0, max_attempts: int = 5, retry_backoff: float = 0.1,
                 client_id: int = 0, client_name: str = "heapa-python", connect: bool = True):
        self.host, self.port = host, int(port)
        self.auth_token, self.client_name = auth_token, client_name
        self.timeout, self.max_attempts, self.retry_backoff = timeout, max_attempts, retry_backoff
        self.client_id = client_id or random.SystemRandom().randrange(1, 1 << 64)
        self.server: Optional[t.ServerInfo] = None
        self._sock: Optional[socket.socket] = None
        self._next_request_id = 1
        self._next_admin_request_id = (1 << 63) + 1
        self._durable: Dict[str, int] = {}  # the highest durable_seq seen, per pool
        if connect:
            self._connect()

    # ---- Lifetime.

    def close(self) -> None:
        """Closes the connection (idempotent). A later call reconnects."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """True while a connection is open (it may still have been broken by the peer)."""
        return self._sock is not None

    def durable_seq(self, pool: str) -> int:
        """The highest durable sequence number of `pool` this client has been told."""
        return self._durable.get(pool, 0)

    def pool(self, name: str) -> "PoolHandle":
        """A handle that passes `name` to every pool call: `client.pool("math").sample(8)`."""
        return PoolHandle(self, name)

    # ---- Pools of the daemon.

    def list_pools(self) -> List[str]:
        """The names of the daemon's pools."""
        return self._call("", wire.pool_list_body(), wire.decode_pool_list)

    def create_pool(self, name: str, config: Any = None, **fields: Any) -> None:
        """Creates pool `name` with `config` (a PoolConfig or dict) or keyword fields.

        AlreadyExistsError when it exists; InvalidArgumentError for a bad name or config.
        """
        cfg = t.coerce(t.PoolConfig, config) if config is not None else t.PoolConfig()
        for k, v in fields.items():
            if not hasattr(cfg, k):
                raise TypeError(f"PoolConfig has no field {k!r}")
            setattr(cfg, k, v)
        self._call("", wire.pool_create_body(name, cfg), wire.decode_none, admin=True)

    def drop_pool(self, name: str) -> None:
        """Drops pool `name` and its data. NotFoundError when there is none."""
        self._call("", wire.pool_drop_body(name), wire.decode_none, admin=True)

    def get_config(self, pool: str) -> t.PoolConfig:
        """The pool's stored config."""
        return self._call(pool, wire.get_config_body(), wire.decode_config)

    # ---- Pool operations (the semantics of index/pool.h).

    def insert(self, pool: str, queries: Iterable[Any]) -> List[t.InsertResult]:
        """Inserts queries (Query, dict or prompt string) in one durable batch, in order."""
        qs = [t.coerce(t.Query, q) for q in queries]
        return self._call(pool, wire.insert_body(qs), wire.decode_insert, mutating=True)

    def insert_children(self, pool: str, children: Iterable[Any]) -> List[t.InsertResult]:
        """Inserts augmented children (Child or dict) with their lineage, in one batch."""
        cs = [t.coerce(t.Child, c) for c in children]
        return self._call(pool, wire.insert_children_body(cs), wire.decode_insert, mutating=True)

    def validate(self, pool: str, query_id: int, accept: bool, answer: Optional[str] = None,
                 teacher_difficulty: Optional[float] = None) -> None:
        """Admits a PENDING child into the heaps (accept) or rejects it."""
        self._call(pool, wire.validate_body(query_id, accept, answer, teacher_difficulty),
                   wire.decode_none, mutating=True)

    def sample(self, pool: str, count: int, lease_ms: int = 0,
               with_content: bool = True) -> List[t.Sampled]:
        """Leases up to `count` queries (lease_ms 0: the pool's default lease)."""
        return self._call(pool, wire.sample_body(count, lease_ms, with_content),
                          wire.decode_sample, mutating=True)

    def report(self, pool: str, items: Iterable[Any]) -> List[t.ReportOutcome]:
        """Reports rollout rewards: ReportItem, dict or (id, lease, rewards[, step])."""
        its = [t.coerce(t.ReportItem, it) for it in items]
        return self._call(pool, wire.report_body(its), wire.decode_report, mutating=True)

    def reinsert(self, pool: str) -> int:
        """Returns every ARCHIVED query to the heaps; returns how many."""
        return self._call(pool, wire.reinsert_body(), wire.decode_count, mutating=True)

    def recover(self, pool: str) -> int:
        """Returns every IN_FLIGHT query to the pool as if its lease expired; how many."""
        return self._call(pool, wire.recover_body(), wire.decode_count, mutating=True)

    def refresh(self, pool: str, mode: Any = None, weighting: Any = t.PathWeighting.SOFTMAX,
                temperature: float = 1.0, inverse_adjust: bool = False) -> Dict[int, float]:
        """A dry run of the reward refresh: {id: value}. mode None: the pool's config."""
        use_config = mode is None
        body = wire.refresh_body(
            use_config, 0 if use_config else t._enum_value(t.RefreshMode, mode),
            t._enum_value(t.PathWeighting, weighting), temperature, inverse_adjust)
        return self._call(pool, body, wire.decode_refresh)

    def get(self, pool: str, query_id: int) -> t.QueryInfo:
        """A query's record, state and statistics. NotFoundError for an unknown id."""
        return self._call(pool, wire.get_body(query_id), wire.decode_get)

    def lineage(self, pool: str, query_id: int, max_depth: int = 8) -> t.Lineage:
        """Parents, children, ancestors and descendants (up to max_depth) of a query."""
        return self._call(pool, wire.lineage_body(query_id, max_depth), wire.decode_lineage)

    def stats(self, pool: str) -> t.PoolStats:
        """The pool's counters and set sizes."""
        return self._call(pool, wire.pool_stats_body(), wire.decode_stats)

    def checkpoint(self, pool: str, tag: str) -> None:
        """Makes checkpoint `tag`. AlreadyExistsError when the tag is taken."""
        self._call(pool, wire.checkpoint_body(tag), wire.decode_none, admin=True)

    def list_checkpoints(self, pool: str) -> List[t.CheckpointInfo]:
        """The pool's checkpoints."""
        return self._call(pool, wire.list_checkpoints_body(), wire.decode_checkpoints)

    def restore(self, pool: str, tag: str) -> None:
        """Returns the pool exactly to checkpoint `tag` (leases granted since are dropped)."""
        self._call(pool, wire.restore_body(tag), wire.decode_none, admin=True)

    def fork(self, pool: str, new_pool: str, tag: Optional[str] = None) -> None:
        """Creates `new_pool` from checkpoint `tag`, or from the current state when None."""
        self._call(pool, wire.fork_body(new_pool, tag), wire.decode_none, admin=True)

    def digest(self, pool: str) -> t.Digest:
        """XXH3-128 of the pool's canonical state."""
        return self._call(pool, wire.digest_body(), wire.decode_digest)

    def verify_index(self, pool: str) -> None:
        """Checks that the daemon's index equals a rebuild from its storage; raises
        CorruptionError naming the first difference otherwise."""
        self._call(pool, wire.verify_index_body(), wire.decode_none)

    # ---- Transport.

    def _connect(self) -> None:
        """Opens the socket and says Hello; raises HeapaError or _TransportError."""
        self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:
            raise _TransportError(f"connect to {self.host}:{self.port}: {e}") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        try:
            payload = wire.encode_request(
                0, "", wire.hello_body(self.client_id, self.auth_token, self.client_name))
            reply = self._exchange(payload, time.monotonic() + self.timeout)
        except _TransportError:
            self.close()
            raise
        if reply.code != t.Code.OK:
            self.close()
            raise errors.error_for(reply.code, reply.message)
        info = wire.decode_hello(reply)
        for pool, seq in info.durable_seqs.items():
            seen = self._durable.get(pool, 0)
            if seq < seen:
                self.close()
                raise errors.LostWritesError(
                    f"server lost acknowledged writes: pool '{pool}' is at durable sequence "
                    f"{seq}, this client saw {seen}")
        self.server = info

    def _exchange(self, payload: bytes, deadline: float) -> wire.Reply:
        sock = self._sock
        assert sock is not None
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.sendall(wire.frame(payload))
            (length,) = wire.FRAME_HEADER.unpack(self._recv(4, deadline))
            if length == 0 or length > _MAX_RESPONSE_BYTES:
                raise _TransportError(f"response frame of {length} bytes")
            data = self._recv(length, deadline)
        except (OSError, socket.timeout) as e:
            raise _TransportError(str(e) or type(e).__name__) from e
        try:
            return wire.Reply(data)
        except Exception as e:  # a frame that does not parse as a Response
            raise _TransportError(f"the daemon sent an invalid Response: {e}") from e

    def _recv(self, size: int, deadline: float) -> bytes:
        sock = self._sock
        assert sock is not None
        chunks, got = [], 0
        while got < size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _TransportError("receive timed out")
            sock.settimeout(left)
            chunk = sock.recv(min(size - got, 1 << 20))
            if not chunk:
                raise _TransportError("the daemon closed the connection")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _call(self, pool: str, body: Any, decode: Any, mutating: bool = False,
              admin: bool = False) -> Any:
        """Sends one request, reconnecting and resending as the module docstring says.

        Pool mutations and admin mutations (create/drop pools, checkpoint, restore, fork)
        number their request ids apart, the latter from 2**63 + 1: a pool deletes a client's
        stored results by counting its requests, which admin requests never reach."""
        request_id = 0
        if admin:
            mutating = True
            request_id = self._next_admin_request_id
            self._next_admin_request_id += 1
        elif mutating:
            request_id = self._next_request_id
            self._next_request_id += 1
        payload = wire.encode_request(request_id, pool, body)
        backoff = self.retry_backoff
        last = "no attempt made"
        sent = False  # by an earlier attempt, unanswered: applied or not, nobody knows
        busy_since = None  # the first busy refusal of a resend
        attempt = 0
        while attempt < max(1, self.max_attempts):
            attempt += 1
            if attempt > 1:
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            if self._sock is None:
                try:
                    self._connect()
                except _TransportError as e:
                    last = str(e)
                    continue  # nothing was sent: always safe to try again
                except (errors.TooManyConnectionsError, errors.UnavailableError) as e:
                    if not (mutating and sent):
                        raise
                    last = str(e)  # transient, and the outcome is pending: try again
                    continue
                except errors.HeapaError as e:
                    if mutating and sent and not isinstance(e, errors.LostWritesError):
                        raise errors.UnknownOutcomeError(
                            f"the request was sent, then the daemon refused the reconnect; it "
                            f"may have been applied: {e}") from e
                    raise
            resend, sent = sent, True
            try:
                reply = self._exchange(payload, time.monotonic() + self.timeout)
            except _TransportError as e:
                self.close()
                last = str(e)
                continue
            if pool and reply.durable_seq > 0:
                self._durable[pool] = max(self._durable.get(pool, 0), reply.durable_seq)
            if reply.code in _CLOSING_CODES:
                self.close()  # the daemon closes the connection after these
            if admin and resend and reply.code == t.Code.RESOURCE_EXHAUSTED:
                # No answer about the original, which may still hold the admin slot: ask
                # again, for up to `timeout` seconds, without counting attempts.
                if busy_since is None:
                    busy_since = time.monotonic()
                if time.monotonic() - busy_since < self.timeout:
                    attempt -= 1
                    last = reply.message
                    continue
                raise errors.UnknownOutcomeError(
                    f"resent, and refused as busy for {self.timeout} s; the original may have "
                    f"been applied: {reply.message}")
            if reply.code != t.Code.OK:
                raise errors.error_for(reply.code, reply.message)
            return decode(reply)
        if mutating and sent:
            raise errors.UnknownOutcomeError(
                f"{self.host}:{self.port}: no answer in {max(1, self.max_attempts)} attempts to "
                f"a request that was sent; it may have been applied: {last}")
        raise errors.UnavailableError(
            f"{self.host}:{self.port}: {max(1, self.max_attempts)} attempts failed: {last}")


class PoolHandle:
    """The pool calls of a `Client` with the pool name bound (see `Client.pool`)."""

    _VERBS = ("get_config", "insert", "insert_children", "validate", "sample", "report",
              "reinsert", "recover", "refresh", "get", "lineage", "stats", "checkpoint",
              "list_checkpoints", "restore", "fork", "digest", "verify_index")

    def __init__(self, client: Client, name: str):
        self.client, self.name = client, name

    def __getattr__(self, verb: str) -> Any:
        if verb not in self._VERBS:
            raise AttributeError(verb)
        method = getattr(self.client, verb)
        return lambda *args, **kwargs: method(self.name, *args, **kwargs)
