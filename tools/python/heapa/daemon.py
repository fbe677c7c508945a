"""`LocalDaemon`: a heapad child process on 127.0.0.1 for tests and the simulator.

It starts heapad with `--listen 127.0.0.1:0` and reads the port from the daemon's first line
("heapad listening on 127.0.0.1:PORT ..."), as tests/testutil/daemon.cc does. `kill()` is a
SIGKILL (a crash), `stop()` a SIGTERM (a clean exit), `restart()` starts it again on the same
data directory and port.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from typing import List, Optional, Sequence

_LISTENING = re.compile(r"listening on .*:(\d+)")


class LocalDaemon:
    """A heapad process owned by this object (stopped on `close()` / context exit)."""

    def __init__(self, heapad: str, data_dir: str, extra_flags: Sequence[str] = (),
                 start: bool = True):
        self.heapad, self.data_dir, self.extra_flags = heapad, data_dir, list(extra_flags)
        self.port = 0
        self.first_line = ""
        self._proc: Optional[subprocess.Popen] = None
        if start:
            self.start()

    def start(self, port: int = 0) -> int:
        """Launches heapad on `port` (0: any free one); returns the bound port."""
        if self._proc is not None:
            raise RuntimeError("heapad is already running")
        args: List[str] = [self.heapad, "--data-dir", self.data_dir, "--listen",
                           f"127.0.0.1:{port}", *self.extra_flags]
        self._proc = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self._proc.stdout.readline().decode("utf-8", "replace").strip()
        self._proc.stdout.close()  # the daemon may write more; nobody reads it
        self.first_line = line
        m = _LISTENING.search(line)
        if m is None or int(m.group(1)) == 0:
            code = self._proc.wait(timeout=10) if self._proc.poll() is None else self._proc.poll()
            self._proc = None
            raise RuntimeError(f"heapad did not start (exit {code}): {line!r}")
        self.port = int(m.group(1))
        return self.port

    @property
    def pid(self) -> int:
        return self._proc.pid if self._proc is not None else -1

    @property
    def running(self) -> bool:
        return self._proc is not None

    def kill(self) -> None:
        """SIGKILL and wait: the daemon gets no chance to clean up."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait()
        self._proc = None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit status (negative: killed by that signal)."""
        if self._proc is None:
            return 0
        self._proc.send_signal(signal.SIGTERM)
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        self._proc = None
        return code

    def restart(self) -> int:
        """Starts a stopped or killed daemon again on the same data directory and port."""
        return self.start(self.port)

    def close(self) -> None:
        if self._proc is not None:
            self.stop()

    def __enter__(self) -> "LocalDaemon":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def default_heapad() -> str:
    """$HEAPAD, else `heapad` next to the build tree's tools/python, else 'heapad'."""
    env = os.environ.get("HEAPAD")
    if env:
        return env
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidate = os.path.join(os.path.dirname(here), "heapad")
    return candidate if os.path.exists(candidate) else "heapad"
