"""The Python client against a real heapad: every verb, the errors, reconnect and resend."""

import os
import shutil
import socket
import tempfile
import threading
import time

import heapad_fixture
from heapad_fixture import DaemonTestCase

import heapa
from heapa import Code, QueryState, ReportOutcome


class PoolManagementTest(DaemonTestCase):
    def test_create_list_get_config_drop(self):
        with heapa.Client(port=self.daemon.port) as c:
            c.create_pool("a", {"max_size": 50, "low_fraction": 0.25, "sampling": "mixed",
                                "eviction": "extremes", "reinsert_below": 7, "rng_seed": 9,
                                "default_lease_ms": 1234, "refresh": "path",
                                "path_weighting": "linear", "path_temperature": 2.5,
                                "inverse_adjust": True})
            c.create_pool("b", rng_seed=1)
            self.assertEqual(sorted(c.list_pools()), ["a", "b"])
            cfg = c.get_config("a")
            self.assertEqual(cfg, heapa.PoolConfig(
                max_size=50, low_fraction=0.25, sampling=heapa.SamplingMode.MIXED,
                eviction=heapa.EvictionPolicy.EXTREMES, reinsert_below=7, rng_seed=9,
                default_lease_ms=1234, refresh=heapa.RefreshMode.PATH,
                path_weighting=heapa.PathWeighting.LINEAR, path_temperature=2.5,
                inverse_adjust=True))
            self.assertEqual(c.get_config("b"), heapa.PoolConfig(rng_seed=1))
            c.drop_pool("b")
            self.assertEqual(c.list_pools(), ["a"])

    def test_errors_carry_code_and_message(self):
        with heapa.Client(port=self.daemon.port) as c:
            c.create_pool("a")
            with self.assertRaises(heapa.AlreadyExistsError) as e:
                c.create_pool("a")
            self.assertEqual(e.exception.code, Code.ALREADY_EXISTS)
            self.assertIn("a", e.exception.message)
            with self.assertRaises(heapa.InvalidArgumentError):
                c.create_pool("bad name!")
            with self.assertRaises(heapa.InvalidArgumentError):
                c.create_pool("c", low_fraction=2.0)
            with self.assertRaises(heapa.NotFoundError) as e:
                c.drop_pool("nope")
            self.assertEqual(e.exception.code, Code.NOT_FOUND)
            with self.assertRaises(heapa.NotFoundError):
                c.stats("nope")
            with self.assertRaises(TypeError):
                c.create_pool("d", no_such_field=1)
            self.assertIsInstance(e.exception, heapa.HeapaError)


class PoolVerbsTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.c = heapa.Client(port=self.daemon.port)
        self.addCleanup(self.c.close)
        self.c.create_pool("m", rng_seed=5)

    def test_insert_sample_report_get_stats(self):
        c = self.c
        res = c.insert("m", [
            "plain prompt",
            {"prompt": "2+2?", "answer": "4", "source": "gsm", "tokens": [7, 8, 9],
             "meta": {"k": "v"}, "step": 3},
            heapa.Query(prompt="scored", answer="x", reward=0.5),
        ])
        self.assertEqual([r.created for r in res], [True, True, True])
        again = c.insert("m", [{"prompt": "2+2?", "answer": "4"}])
        self.assertEqual((again[0].id, again[0].created), (res[1].id, False))

        batch = c.sample("m", 2)  # COLD first, FIFO
        self.assertEqual([s.id for s in batch], [res[0].id, res[1].id])
        self.assertEqual(len({s.lease for s in batch}), 1)
        self.assertEqual(batch[0].from_state, QueryState.COLD)
        self.assertIsNone(batch[0].reward)
        q = batch[1].query
        self.assertEqual((q.prompt, q.answer, q.source, q.tokens, q.meta, q.created_step),
                         ("2+2?", "4", "gsm", [7, 8, 9], {"k": "v"}, 3))
        bare = c.sample("m", 1, with_content=False)
        self.assertEqual(bare[0].id, res[2].id)
        self.assertEqual(bare[0].reward, 0.5)
        self.assertIsNone(bare[0].query)

        out = c.report("m", [(batch[0].id, batch[0].lease, [1.0, -1.0, 1.0, 1.0], 4),
                             {"id": batch[1].id, "lease": batch[1].lease, "rewards": [-1.0]}])
        self.assertEqual(out, [ReportOutcome.APPLIED, ReportOutcome.APPLIED])
        dup = c.report("m", [heapa.ReportItem(batch[0].id, batch[0].lease, [1.0])])
        self.assertEqual(dup, [ReportOutcome.DUPLICATE])

        info = c.get("m", batch[0].id)
        self.assertEqual(info.state.state, QueryState.ARCHIVED)
        self.assertEqual(info.state.reward, 0.5)
        self.assertEqual((info.stats.reports, info.stats.rollouts, info.stats.last_step), (1, 4, 4))
        self.assertAlmostEqual(info.stats.mean, 0.5)
        st = c.stats("m")
        self.assertEqual((st.pooled, st.in_flight, st.archived), (0, 1, 2))
        self.assertEqual((st.total_added, st.total_duplicates, st.total_sampled), (3, 1, 3))
        self.assertEqual(st.durable_seq, c.durable_seq("m"))
        self.assertEqual(st.degraded, "")
        self.assertGreater(st.stats_bytes, 0)  # two queries reported
        self.assertEqual(heapa.to_dict(st)["archived"], 2)

    def test_pool_call_errors(self):
        c = self.c
        [r] = c.insert("m", ["q"])
        [s] = c.sample("m", 1)
        with self.assertRaises(heapa.NotFoundError):
            c.get("m", 999)
        with self.assertRaises(heapa.NotFoundError):
            c.report("m", [(999, s.lease, [1.0])])
        with self.assertRaises(heapa.FailedPreconditionError):
            c.report("m", [(r.id, s.lease + 100, [1.0])])
        with self.assertRaises(heapa.InvalidArgumentError):
            c.report("m", [(r.id, s.lease, [])])
        with self.assertRaises(heapa.InvalidArgumentError):
            c.report("m", [(r.id, s.lease, [float("nan")])])
        with self.assertRaises(heapa.InvalidArgumentError):
            c.sample("m", 0)
        with self.assertRaises(heapa.InvalidArgumentError) as e:
            c.insert("m", [""])
        self.assertEqual(e.exception.code, Code.INVALID_ARGUMENT)
        with self.assertRaises(TypeError):
            c.insert("m", [{"promt": "typo"}])
        # Nothing of a failed call was applied.
        self.assertEqual(c.get("m", r.id).state.state, QueryState.IN_FLIGHT)

    def test_children_validate_lineage_refresh(self):
        c = self.c
        [p] = c.insert("m", ["parent"])
        [s] = c.sample("m", 1)
        c.report("m", [(s.id, s.lease, [1.0, 1.0, -1.0, -1.0])])
        kids = c.insert_children("m", [
            heapa.Child(parents=[p.id], prompt="child 1", answer="1", policy_difficulty=2.0),
            {"parents": [p.id], "prompt": "child 2", "est_reward": 0.25, "validated": True}])
        self.assertTrue(all(k.created for k in kids))
        self.assertEqual(c.get("m", kids[0].id).state.state, QueryState.PENDING)
        self.assertEqual(c.get("m", kids[1].id).state.state, QueryState.HIGH)
        c.validate("m", kids[0].id, True, answer="one", teacher_difficulty=0.5)
        info = c.get("m", kids[0].id)
        self.assertIn(info.state.state, (QueryState.LOW, QueryState.HIGH))
        self.assertEqual(info.query.answer, "one")
        self.assertEqual(info.query.parents, [p.id])
        self.assertEqual(info.query.origin, heapa.Origin.AUGMENTED)
        with self.assertRaises(heapa.FailedPreconditionError):
            c.validate("m", kids[0].id, True)
        with self.assertRaises(heapa.NotFoundError):
            c.insert_children("m", [{"parents": [999], "prompt": "orphan"}])

        lin = c.lineage("m", p.id)
        self.assertEqual(sorted(lin.children), sorted(k.id for k in kids))
        self.assertEqual(sorted(lin.descendants), sorted((k.id, 1) for k in kids))
        self.assertEqual(c.lineage("m", kids[0].id, max_depth=1).ancestors, [(p.id, 1)])
        # The parent (reward 0) is refreshed from its children; leaves are not.
        values = c.refresh("m", mode=heapa.RefreshMode.CHILD)
        self.assertEqual(set(values), {p.id})
        self.assertEqual(c.refresh("m"), {})  # the pool's config: refresh off

    def test_reinsert_and_recover(self):
        c = self.c
        c.insert("m", ["a", "b", "c"])
        first = c.sample("m", 2)
        self.assertEqual(c.recover("m"), 2)
        self.assertEqual(c.stats("m").in_flight, 0)
        again = c.sample("m", 3)
        self.assertEqual(c.report("m", [(first[0].id, first[0].lease, [1.0])]),
                         [ReportOutcome.STALE])
        c.report("m", [(s.id, s.lease, [1.0, -1.0]) for s in again])
        self.assertEqual(c.stats("m").archived, 3)
        self.assertEqual(c.reinsert("m"), 3)
        st = c.stats("m")
        self.assertEqual((st.archived, st.low + st.high, st.total_reinserted), (0, 3, 3))

    def test_checkpoint_restore_fork_digest(self):
        c = self.c
        c.insert("m", ["a", "b"])
        before = c.digest("m")
        c.checkpoint("m", "t1")
        self.assertEqual([x.tag for x in c.list_checkpoints("m")], ["t1"])
        with self.assertRaises(heapa.AlreadyExistsError):
            c.checkpoint("m", "t1")
        c.sample("m", 1)
        self.assertNotEqual(c.digest("m"), before)
        c.restore("m", "t1")
        self.assertEqual(c.digest("m"), before)
        self.assertEqual(c.stats("m").in_flight, 0)
        with self.assertRaises(heapa.NotFoundError):
            c.restore("m", "nope")
        c.fork("m", "m2", "t1")
        c.fork("m", "m3")
        self.assertEqual(c.digest("m2"), before)
        self.assertEqual(c.digest("m3"), before)
        c.verify_index("m")
        with self.assertRaises(heapa.NotFoundError):
            c.verify_index("nope")
        h = c.pool("m3")
        h.insert(["z"])
        self.assertEqual(h.stats().pooled, 3)


def restart_with_failpoints(daemon, spec: str) -> int:
    """Restarts `daemon` on its port with HEAPA_FAILPOINTS=spec; returns the port."""
    port = daemon.port
    daemon.stop()
    os.environ["HEAPA_FAILPOINTS"] = spec
    try:
        daemon.start(port)
    finally:
        del os.environ["HEAPA_FAILPOINTS"]
    return port


class ReconnectTest(DaemonTestCase):
    def test_resent_request_is_applied_once(self):
        # A lost reply: the same (client id, request id) sent again returns the first result,
        # for an admin request (its request marker) as for a pool request (its stored result).
        with heapa.Client(port=self.daemon.port, client_id=4242) as c1:
            c1.create_pool("m")  # admin request id 2**63 + 1
            c1.insert("m", ["a", "b", "c"])  # request id 1
        with heapa.Client(port=self.daemon.port, client_id=4242) as c2:
            c2.create_pool("m")  # admin request id 2**63 + 1 again: OK, not AlreadyExists
            replay = c2.insert("m", ["x", "y"])  # request id 1 again: the stored result
            self.assertEqual([r.id for r in replay], [1, 2, 3])
            self.assertEqual(c2.stats("m").total_added, 3)
            fresh = c2.insert("m", ["x"])  # request id 2: new
            self.assertEqual(fresh[0].id, 4)
        with heapa.Client(port=self.daemon.port, client_id=4343) as c3:
            with self.assertRaises(heapa.AlreadyExistsError):
                c3.create_pool("m")  # another client's create

    def test_reconnects_after_a_broken_connection(self):
        with heapa.Client(port=self.daemon.port) as c:
            c.create_pool("m")
            c._sock.shutdown(socket.SHUT_RDWR)  # the network drops the connection
            c.insert("m", ["a"])
            self.assertEqual(c.stats("m").total_added, 1)

    def test_survives_kill_and_restart_and_resends(self):
        with heapa.Client(port=self.daemon.port, retry_backoff=0.05, max_attempts=8) as c:
            c.create_pool("m")
            c.insert("m", ["a", "b"])
            self.daemon.kill()
            restarter = threading.Timer(0.3, self.daemon.restart)
            restarter.start()
            try:
                batch = c.sample("m", 2)  # fails, retries until the daemon is back
            finally:
                restarter.join()
            self.assertEqual(len(batch), 2)
            st = c.stats("m")
            self.assertEqual((st.total_sampled, st.in_flight), (2, 2))

    def test_unanswered_mutation_is_unknown_outcome(self):
        # heapad dies at a failpoint after the create is published, before it answers, and is
        # not back within the attempts: the outcome is unknown, not a definite failure.
        port = restart_with_failpoints(self.daemon, "admin.after_publish")
        with heapa.Client(port=port, client_id=55, max_attempts=2, retry_backoff=0.01) as c:
            with self.assertRaises(heapa.UnknownOutcomeError):
                c.create_pool("m")  # admin request id 2**63 + 1
        self.assertEqual(self.daemon.stop(), 86)  # storage::kFailpointExitCode
        self.daemon.start(port)
        with heapa.Client(port=port, client_id=55) as c:
            c.create_pool("m")  # the resend, the same request id: done already
            self.assertEqual(c.list_pools(), ["m"])

    def test_unreachable_daemon_is_unavailable(self):
        self.daemon.stop()
        t0 = time.monotonic()
        with self.assertRaises(heapa.UnavailableError) as e:
            heapa.Client(port=self.daemon.port, connect=False, max_attempts=2,
                         retry_backoff=0.01).list_pools()
        self.assertEqual(e.exception.code, Code.UNAVAILABLE)
        self.assertLess(time.monotonic() - t0, 5)

    def test_timeout_on_a_silent_server(self):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        self.addCleanup(silent.close)
        t0 = time.monotonic()
        with self.assertRaises(heapa.UnavailableError):
            heapa.Client(port=silent.getsockname()[1], timeout=0.3, max_attempts=2,
                         retry_backoff=0.01, connect=False).list_pools()
        self.assertLess(time.monotonic() - t0, 3)

    def test_detects_a_daemon_that_lost_writes(self):
        c = heapa.Client(port=self.daemon.port)
        self.addCleanup(c.close)
        c.create_pool("m")
        for _ in range(5):
            c.insert("m", ["a"])
        self.assertGreaterEqual(c.durable_seq("m"), 5)
        port = self.daemon.port
        self.daemon.stop()
        other = self.start_daemon("other", port=port)  # a younger pool "m" on the same port
        with heapa.Client(port=other.port) as c2:
            c2.create_pool("m")
        with self.assertRaises(heapa.LostWritesError) as e:
            c.stats("m")
        self.assertEqual(e.exception.code, Code.CORRUPTION)


class LimitsTest(DaemonTestCase):
    daemon_flags = ("--max-frame-bytes", "4096", "--max-batch", "4")

    def test_frame_and_batch_limits(self):
        with heapa.Client(port=self.daemon.port) as c:
            c.create_pool("m")
            with self.assertRaises(heapa.InvalidArgumentError) as e:
                c.insert("m", ["a", "b", "c", "d", "e"])
            self.assertIn("4", e.exception.message)
            with self.assertRaises(heapa.FrameTooLargeError) as e:
                c.insert("m", ["x" * 10000])
            self.assertEqual(e.exception.code, Code.FRAME_TOO_LARGE)
            self.assertEqual(c.insert("m", ["ok"])[0].id, 1)  # reconnects


class ConnectionLimitTest(DaemonTestCase):
    daemon_flags = ("--max-connections", "1")

    def test_second_connection_is_refused(self):
        with heapa.Client(port=self.daemon.port) as first:
            first.list_pools()
            with self.assertRaises(heapa.TooManyConnectionsError) as e:
                heapa.Client(port=self.daemon.port)
            self.assertEqual(e.exception.code, Code.TOO_MANY_CONNECTIONS)
        # Once the daemon has seen the first connection close, a new one is accepted.
        for _ in range(100):
            try:
                again = heapa.Client(port=self.daemon.port)
                break
            except heapa.TooManyConnectionsError:
                time.sleep(0.02)
        with again:
            self.assertEqual(again.list_pools(), [])

    def test_refused_reconnect_after_a_send_is_retried(self):
        # heapad dies after publishing a create, before it answers; back, its one connection
        # is taken, so the client's reconnect is refused (TOO_MANY_CONNECTIONS). The request
        # was sent: the client tries again instead of failing, and its resend is answered OK.
        port = restart_with_failpoints(self.daemon, "admin.after_publish")
        c = heapa.Client(port=port, client_id=57, max_attempts=50, retry_backoff=0.01)
        self.addCleanup(c.close)
        connect, may_connect, refused = c._connect, threading.Event(), threading.Event()

        def gated_connect():  # reconnects only once the other connection holds the slot
            may_connect.wait(10)
            try:
                return connect()
            except heapa.TooManyConnectionsError:
                refused.set()
                raise

        c._connect = gated_connect

        exit_codes = []

        def restart_and_hold_the_slot():
            exit_codes.append(self.daemon._proc.wait(10))
            self.daemon._proc = None
            self.daemon.start(port)
            with heapa.Client(port=port):
                may_connect.set()
                refused.wait(10)

        helper = threading.Thread(target=restart_and_hold_the_slot)
        helper.start()
        try:
            c.create_pool("m")  # admin request id 2**63 + 1, resent until answered
        finally:
            may_connect.set()
            helper.join()
        self.assertEqual(exit_codes, [86])  # storage::kFailpointExitCode
        self.assertTrue(refused.is_set())
        self.assertEqual(c.list_pools(), ["m"])


class AuthTest(DaemonTestCase):
    def setUp(self):
        self.token_dir = tempfile.mkdtemp()
        path = os.path.join(self.token_dir, "token")
        with open(path, "w") as f:
            f.write("s3cret\n")
        self.daemon_flags = ("--auth-token-file", path)
        super().setUp()
        self.addCleanup(shutil.rmtree, self.token_dir, True)


    def test_token_required(self):
        with self.assertRaises(heapa.UnauthenticatedError) as e:
            heapa.Client(port=self.daemon.port)
        self.assertEqual(e.exception.code, Code.UNAUTHENTICATED)
        with self.assertRaises(heapa.UnauthenticatedError):
            heapa.Client(port=self.daemon.port, auth_token="wrong")
        with heapa.Client(port=self.daemon.port, auth_token="s3cret") as c:
            self.assertEqual(c.list_pools(), [])
            self.assertEqual(c.server.protocol_version, 1)


if __name__ == "__main__":
    heapad_fixture.main()
