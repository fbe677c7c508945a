"""heapa-sim --quick against a real heapad: under a minute, reproducible, and the
preemption scenario (SIGKILL, restart, restore, resume) gives identical batches."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import heapad_fixture

SEED = int(os.environ.get("HEAPA_TEST_SEED", "7"))


def run_sim(out_dir, *extra):
    cmd = [os.environ.get("HEAPA_SIM") or sys.executable, "--heapad", heapad_fixture.HEAPAD,
           "--quick", "--seed", str(SEED), "--out", out_dir, *extra]
    if not os.environ.get("HEAPA_SIM"):
        cmd[1:1] = ["-m", "heapa.sim.main"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=110)
    return proc, time.monotonic() - t0


class SimQuickTest(unittest.TestCase):
    def test_quick_run_with_preemption(self):
        print(f"seed {SEED} (HEAPA_TEST_SEED replays)", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            proc, seconds = run_sim(os.path.join(tmp, "a"), "--preemption")
            print(proc.stdout)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            # The 60 s budget is the normal build's; sanitizer builds set a larger one.
            self.assertLess(seconds, float(os.environ.get("HEAPA_SIM_TIME_LIMIT", "60")))
            self.assertIn("batches identical, digest identical", proc.stdout)
            with open(os.path.join(tmp, "a", "results.json")) as f:
                report = json.load(f)
            self.assertTrue(report["preemption"]["identical"])
            results = {r["sampler"]: r for r in report["results"]}
            self.assertEqual(len(results), 7)
            for r in results.values():
                self.assertGreater(r["rollouts"], 0)
                self.assertTrue(0 < r["informative_share"] <= 1)
                self.assertEqual(r["reached_step"] is not None, r["final_accuracy"] >= 0.6)
            self.assertGreater(results["heapa-medium+aug"]["children"], 0)
            with open(os.path.join(tmp, "a", "accuracy.png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

            # The same seed gives the same numbers (a subset, to stay fast).
            proc, _ = run_sim(os.path.join(tmp, "b"), "--samplers",
                              "uniform,prioritized,heapa-mixed+aug", "--no-plot")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(os.path.join(tmp, "b", "results.json")) as f:
                again = {r["sampler"]: r for r in json.load(f)["results"]}
            for name, r in again.items():
                for key in ("rollouts", "informative", "reached_rollouts", "final_accuracy",
                            "curve", "children"):
                    self.assertEqual(r[key], results[name][key], f"{name}: {key}")


if __name__ == "__main__":
    heapad_fixture.main()
