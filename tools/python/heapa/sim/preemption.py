"""The preemption scenario: SIGKILL heapad mid-run, restart it, resume from a checkpoint.

A reference trainer (HeaPA medium with augmentation) runs `steps` steps uninterrupted. A
second trainer on a second pool with the same seed checkpoints the pool and saves its own
state (to a file) at step `save_at`, goes on to step `kill_at`, leases the next batch and is
then preempted: the daemon gets SIGKILL. The daemon is restarted on the same data directory,
a new client (a new process would have a new client id) restores the pool checkpoint, the
trainer loads its saved state and finishes the run. Its batches (steps before the checkpoint
from the first life, the rest from the second) must equal the reference's, and so must the
final pool digests and held-out accuracy.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import time
from typing import Any, Dict

from heapa import Client
from heapa.daemon import LocalDaemon
from heapa.sim.loop import LoopConfig, Trainer
from heapa.sim.samplers import HeapaSampler
from heapa.sim.world import WorldConfig


def _trainer(client: Client, pool: str, world: WorldConfig, loop: LoopConfig,
             seed: int) -> Trainer:
    return Trainer(world, loop, HeapaSampler(client, pool, "medium", True, seed), seed)


def run_preemption(daemon: LocalDaemon, world: WorldConfig, loop: LoopConfig, seed: int,
                   steps: int, save_at: int, kill_at: int, state_dir: str) -> Dict[str, Any]:
    """Runs the scenario; returns its findings (`identical` is the verdict)."""
    assert 0 < save_at < kill_at < steps
    start = time.monotonic()
    loop = dataclasses.replace(loop, max_steps=steps, target=2.0)  # run exactly `steps`
    with Client(port=daemon.port) as c:
        ref = _trainer(c, "preempt-ref", world, loop, seed)
        ref.setup()
        ref.run()
        ref_digest = c.digest("preempt-ref")

    pool, tag = "preempt-run", f"step-{save_at}"
    state_file = os.path.join(state_dir, f"trainer-{tag}.pkl")
    c = Client(port=daemon.port)
    first = _trainer(c, pool, world, loop, seed)
    first.setup()
    while first.result.steps < kill_at:
        if first.result.steps == save_at:
            c.checkpoint(pool, tag)
            with open(state_file, "wb") as f:
                pickle.dump(first.state(), f)
        first.step()
    c.sample(pool, loop.batch, lease_ms=HeapaSampler.LEASE_MS, with_content=False)
    daemon.kill()  # preempted mid-step, with a batch in flight
    c.close()

    daemon.restart()
    with Client(port=daemon.port) as c2:
        c2.restore(pool, tag)
        resumed = _trainer(c2, pool, world, loop, seed)
        with open(state_file, "rb") as f:
            resumed.load_state(pickle.load(f))
        resumed.run()
        digest = c2.digest(pool)

    ref_batches, batches = ref.result.batches, resumed.result.batches
    mismatch = next((i for i, (a, b) in enumerate(zip(ref_batches, batches)) if a != b), None)
    same_batches = len(ref_batches) == len(batches) == steps and mismatch is None
    return {
        "steps": steps, "save_at": save_at, "kill_at": kill_at,
        "identical_batches": same_batches, "first_mismatch_step": mismatch,
        "identical_digest": digest == ref_digest,
        "identical_accuracy": resumed.result.final_accuracy == ref.result.final_accuracy,
        "identical": same_batches and digest == ref_digest
                     and resumed.result.final_accuracy == ref.result.final_accuracy,
        "digest": f"{digest.high:016x}{digest.low:016x}",
        "seconds": round(time.monotonic() - start, 2),
    }
