"""Live server processes on loopback, for tests that need real processes and sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


BOUNCER = (sys.executable, "-m", "app", "serve", "--port", "{port}")


class LiveServer:
    """A server child process on a free loopback port, its output captured to a file.

    ``command`` is its argv with ``{port}`` where the port goes: by default
    `python -m app serve`; the benchmarks also start their floor server this way.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        args: Sequence[str] = (),
        *,
        command: Sequence[str] = BOUNCER,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # Only what the caller sets: the machine's bouncer settings must not leak in.
        child_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SNS_", "API_", "DATABASE_"))
        }
        child_env.update(env)
        self._log = log_path.open("wb")
        argv = [part.format(port=self.port) for part in command] + list(args)
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            argv,
            env=child_env,
            cwd=Path(__file__).resolve().parent.parent,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0, path: str = "/readyz") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not ready after {timeout}s: {self.output()}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
