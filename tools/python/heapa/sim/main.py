"""heapa-sim: compare prompt samplers in a synthetic RLVR loop against heapad.

    heapa-sim --heapad build/tools/heapad --out sim-out           # the documented default run
    heapa-sim --heapad build/tools/heapad --quick --preemption    # under a minute (CI)
    heapa-sim --port 7411 --samplers heapa-medium,uniform         # against a running daemon

Prints a table (rollouts and steps to reach the target held-out accuracy, share of
informative groups), writes results.json and accuracy.png to --out. Everything is seeded:
the same --seed gives the same numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from typing import Dict, List, Optional

from heapa import Client
from heapa.daemon import LocalDaemon, default_heapad
from heapa.sim.loop import LoopConfig, RunResult, Trainer
from heapa.sim.preemption import run_preemption
from heapa.sim.samplers import HeapaSampler, PrioritizedSampler, UniformSampler
from heapa.sim.world import WorldConfig

SAMPLERS = ["uniform", "uniform+dapo-filter", "prioritized", "heapa-medium", "heapa-medium+aug",
            "heapa-mixed", "heapa-mixed+aug"]


def _parse(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="heapa-sim", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_argument_group("daemon (one of)")
    where.add_argument("--heapad", help="start this heapad binary in a temporary directory")
    where.add_argument("--host", default="127.0.0.1")
    where.add_argument("--port", type=int, help="use the heapad listening here")
    where.add_argument("--auth-token", default="")
    p.add_argument("--prompts", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=512, help="prompts per optimizer step")
    p.add_argument("--rollouts", type=int, default=16, help="rollouts per prompt")
    p.add_argument("--target", type=float, default=0.6, help="held-out accuracy to reach")
    world = p.add_argument_group("world (see heapa/sim/world.py)")
    defaults = WorldConfig()
    world.add_argument("--difficulty-mean", type=float, default=defaults.difficulty_mean)
    world.add_argument("--difficulty-sd", type=float, default=defaults.difficulty_sd)
    world.add_argument("--skill-gain", type=float, default=defaults.skill_gain,
                       help="skill added by a step whose whole batch is informative")
    world.add_argument("--child-sd", type=float, default=defaults.child_sd)
    world.add_argument("--valid-prob", type=float, default=defaults.valid_prob)
    p.add_argument("--max-steps", type=int, default=400)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reinsert-below", type=float, default=0.0,
                   help="HeaPA pools reinsert the archive when fewer than this fraction of the "
                        "prompts are pooled (0: fewer than a batch, the reference trigger)")
    p.add_argument("--samplers", default=",".join(SAMPLERS), help="comma-separated subset")
    p.add_argument("--out", default="heapa-sim-out", help="directory for results and plot")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--quick", action="store_true",
                   help="2,000 prompts, batch 64, 8 rollouts: well under a minute")
    p.add_argument("--preemption", action="store_true",
                   help="also run the SIGKILL/restart/resume scenario (needs --heapad)")
    args = p.parse_args(argv)
    if args.quick:
        args.prompts, args.batch, args.rollouts, args.max_steps = 2000, 64, 8, 300
    unknown = set(args.samplers.split(",")) - set(SAMPLERS)
    if unknown:
        p.error(f"unknown sampler(s) {sorted(unknown)}; known: {', '.join(SAMPLERS)}")
    if args.port is None and not args.heapad:
        args.heapad = default_heapad()
    return args


def make_sampler(name: str, client: Optional[Client], seed: int, reinsert_below: float = 0.0):
    if name == "uniform":
        return UniformSampler()
    if name == "uniform+dapo-filter":
        return UniformSampler(dapo_filter=True)
    if name == "prioritized":
        return PrioritizedSampler()
    mode = "mixed" if "mixed" in name else "medium"
    return HeapaSampler(client, "sim-" + name.replace("+", "-"), mode, name.endswith("+aug"),
                        seed, reinsert_below)


def format_table(results: List[RunResult], target: float) -> str:
    lines = [f"| sampler | rollouts to {target:.2f} | steps | informative groups | "
             "final accuracy | children | wall s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        reached = f"{r.reached_rollouts:,}" if r.reached_rollouts is not None else \
            f"not in {r.rollouts:,}"
        steps = str(r.reached_step) if r.reached_step is not None else f">{r.steps}"
        lines.append(f"| {r.sampler} | {reached} | {steps} | {r.informative_share:.1%} | "
                     f"{r.final_accuracy:.3f} | {r.children:,} | {r.seconds:.1f} |")
    return "\n".join(lines)


def plot(results: List[RunResult], target: float, title: str, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=90)
    for r in results:
        xs = [x / 1e6 for x, _ in r.curve]
        ax.plot(xs, [y for _, y in r.curve], label=r.sampler,
                linestyle="--" if "aug" in r.sampler else "-")
    ax.axhline(target, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("rollouts (millions)")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> int:
    args = _parse(argv)
    world = WorldConfig(prompts=args.prompts, difficulty_mean=args.difficulty_mean,
                        difficulty_sd=args.difficulty_sd, skill_gain=args.skill_gain,
                        child_sd=args.child_sd, valid_prob=args.valid_prob)
    loop = LoopConfig(batch=args.batch, rollouts=args.rollouts, target=args.target,
                      max_steps=args.max_steps)
    os.makedirs(args.out, exist_ok=True)
    print(f"heapa-sim: seed {args.seed}, {args.prompts} prompts, batch {args.batch}, "
          f"{args.rollouts} rollouts, target {args.target}", flush=True)
    with tempfile.TemporaryDirectory(prefix="heapa-sim-") as tmp:
        daemon = None
        if args.heapad:
            daemon = LocalDaemon(args.heapad, os.path.join(tmp, "data"))
            port = daemon.port
        else:
            port = args.port
        try:
            with Client(args.host, port, auth_token=args.auth_token) as client:
                results = []
                for name in args.samplers.split(","):
                    trainer = Trainer(world, loop, make_sampler(name, client, args.seed,
                                                               args.reinsert_below),
                                      args.seed)
                    trainer.setup()
                    results.append(trainer.run())
                    r = results[-1]
                    print(f"  {name}: {r.steps} steps, accuracy {r.final_accuracy:.3f}, "
                          f"{r.seconds:.1f} s", flush=True)
            table = format_table(results, args.target)
            print(table)
            report: Dict = {"seed": args.seed, "world": dataclasses.asdict(world),
                            "loop": dataclasses.asdict(loop),
                            "results": [dict(dataclasses.asdict(r), batches=None,
                                             informative_share=r.informative_share)
                                        for r in results]}
            ok = True
            if args.preemption:
                if daemon is None:
                    print("preemption: skipped (needs --heapad to kill and restart the daemon)")
                else:
                    steps = 12 if args.quick else 30
                    pre = run_preemption(daemon, world, loop, args.seed, steps, steps // 3,
                                         2 * steps // 3, tmp)
                    report["preemption"] = pre
                    ok = pre["identical"]
                    print(f"preemption: checkpoint at step {pre['save_at']}, SIGKILL at step "
                          f"{pre['kill_at']}, resumed to {pre['steps']}: batches "
                          f"{'identical' if pre['identical_batches'] else 'DIFFERENT'}, digest "
                          f"{'identical' if pre['identical_digest'] else 'DIFFERENT'} "
                          f"({pre['seconds']} s)")
            with open(os.path.join(args.out, "results.json"), "w") as f:
                json.dump(report, f, indent=1, default=str)
            if not args.no_plot:
                title = (f"heapa-sim: {args.prompts:,} prompts, batch {args.batch}, "
                         f"{args.rollouts} rollouts, seed {args.seed}")
                plot(results, args.target, title, os.path.join(args.out, "accuracy.png"))
                print(f"plot: {os.path.join(args.out, 'accuracy.png')}")
        finally:
            if daemon is not None:
                daemon.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
