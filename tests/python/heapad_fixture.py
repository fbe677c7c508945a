"""Shared fixture of the Python tests: a heapad in a temporary directory on 127.0.0.1:0.

Each test script is run by ctest as `/usr/bin/python3 <script> <path of heapad>`, with
PYTHONPATH=<build>/tools/python (the package assembled by CMake, generated code included).
"""

import os
import shutil
import sys
import tempfile
import unittest

from heapa.daemon import LocalDaemon

HEAPAD = os.environ.get("HEAPAD", "")


def main() -> None:
    """unittest.main(), taking the heapad path from the first argument."""
    global HEAPAD
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        HEAPAD = sys.argv.pop(1)
    if not HEAPAD or not os.path.exists(HEAPAD):
        sys.exit(f"usage: {sys.argv[0]} PATH_TO_HEAPAD [unittest args] (got {HEAPAD!r})")
    unittest.main(verbosity=2)


class DaemonTestCase(unittest.TestCase):
    """Starts a fresh heapad per test (flags from `daemon_flags`) and removes its data."""

    daemon_flags: tuple = ()

    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="heapa-pytest-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.daemon = self.start_daemon("data", self.daemon_flags)

    def start_daemon(self, name: str, flags=(), port: int = 0) -> LocalDaemon:
        d = LocalDaemon(HEAPAD, os.path.join(self.tmp, name), flags, start=False)
        d.start(port)
        self.addCleanup(d.close)
        return d
