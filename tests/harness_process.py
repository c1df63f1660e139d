"""A harness script run as a child process, its stdout lines collected by a thread.

The crash tests start a harness that injects a fault and says so on stdout, then kill it
(SIGKILL or SIGTERM) and check what `flexchaos rollback` or the harness itself reverted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class HarnessProcess:
    """`python <script> <args>` from the repository root, unbuffered, lines collected."""

    def __init__(self, script: Path, args: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def fail_if_exited(self, what: str) -> None:
        """Raise with its stderr when the harness has already exited."""
        if self.process.poll() is not None:
            _, err = self.process.communicate(timeout=5)
            raise AssertionError(f"{what} exited {self.process.returncode}: {err}")

    def kill(self, sig: int = signal.SIGKILL) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        return code
