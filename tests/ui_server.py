"""Start the real chat page (`assistant serve`) on a free local port for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(warehouse: Path, workdir: Path, *, timeout: float = 120,
                env: dict[str, str] | None = None):
    """Serve a private copy of `warehouse` (offline planner unless `env` says otherwise)."""
    copy = workdir / "served.duckdb"
    shutil.copy(warehouse, copy)
    port = free_port()
    env = {**os.environ, "ASSISTANT_WAREHOUSE": str(copy), "ASSISTANT_PROVIDER": "offline",
           "GRADIO_ANALYTICS_ENABLED": "False", "ASSISTANT_MCP": "false", **(env or {})}
    log = open(workdir / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    raise RuntimeError("the app did not start:\n" +
                                       (workdir / "server.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
