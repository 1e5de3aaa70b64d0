"""A real Redis server for the tests: Debian's `redis-server`, on 127.0.0.1, a free port.

`.ci/run` installs it. Without it the tests that need Redis fail in CI (`CI=true`), with a
message saying how to install it, and are skipped on a developer's machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

BINARY = "redis-server"
INSTALL = ("apt-get update && apt-get install -y --no-install-recommends redis-server "
           "(.ci/run does this)")


def require_redis_server() -> str:
    """The path of redis-server; fail (CI) or skip (elsewhere) the test when it is missing."""
    path = shutil.which(BINARY)
    if path is None:
        message = f"{BINARY} is not installed; install it with: {INSTALL}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process (a child of the test run, never daemonized): no snapshots,
    no append-only file, so nothing outlives it but its log in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require_redis_server()
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> str:
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self, timeout: float = 10.0) -> None:
        """Start on `self.port` (kept across restarts) and wait until it answers PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir), "--daemonize", "no"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"redis-server did not start on {self.port}:\n{self.log}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (an outage, as far as the bot can tell) and wait for its exit."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
