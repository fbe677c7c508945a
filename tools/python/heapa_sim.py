#!/usr/bin/python3
"""heapa-sim: the synthetic RLVR loop (see heapa/sim/main.py and `heapa-sim --help`).

Finds the `heapa` package next to this script (the build tree) or in ../lib/heapa/python
(an installed tree).
"""
import os
import sys

_here = os.path.dirname(os.path.realpath(__file__))
for _path in (_here, os.path.join(_here, "..", "lib", "heapa", "python")):
    if os.path.isdir(os.path.join(_path, "heapa", "net", "fb")):
        sys.path.insert(0, os.path.abspath(_path))
        break

from heapa.sim.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
