"""Debian's nginx for tests: a foreground nginx with its pid, logs and temp files under a temporary directory,
configured by `skillcert nginx-config --runtime-dir`. Missing nginx skips the test outside CI and fails in CI."""
from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time

import pytest

NGINX = "/usr/sbin/nginx"
ROOT = pathlib.Path(__file__).resolve().parents[1]


def require_nginx() -> str:
    if not os.path.exists(NGINX):
        msg = f"{NGINX} is missing: install Debian's nginx (.ci/services.sh does)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return NGINX


def runtime_dir() -> pathlib.Path:
    """A directory nginx's worker user (nobody when the test runs as root) can write its temp files in."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="skillcert-nginx-"))
    d.chmod(0o755)
    return d


def generate(*args: str) -> str:
    """`skillcert nginx-config ARGS`, as an operator runs it."""
    res = subprocess.run([sys.executable, "-m", "examserver.cli", "nginx-config", *args], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


def check(conf: pathlib.Path, prefix: pathlib.Path) -> subprocess.CompletedProcess:
    """`nginx -t` on a configuration file."""
    return subprocess.run([require_nginx(), "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                          capture_output=True, text=True)


class Nginx:
    """nginx in the foreground (`daemon off`), started on a configuration text; stopped by its pid."""

    def __init__(self, text: str, directory: pathlib.Path, port: int):
        self.dir, self.port = directory, port
        self.conf = directory / "nginx.conf"
        self.conf.write_text(text)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_s: float = 15) -> "Nginx":
        t = check(self.conf, self.dir)
        assert t.returncode == 0, t.stderr
        self.proc = subprocess.Popen([require_nginx(), "-p", str(self.dir), "-c", str(self.conf),
                                      "-e", str(self.dir / "error.log"), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + self.error_log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("nginx did not listen: " + self.error_log())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown of master and workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def error_log(self) -> str:
        p = self.dir / "error.log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""

    def access(self) -> list[dict]:
        """The access log: one dict per request with client, request line, status and upstream."""
        out = []
        p = self.dir / "access.log"
        for line in (p.read_text(errors="replace").splitlines() if p.exists() else []):
            m = re.match(r'^(\S+) \[[^\]]*\] "([^"]*)" (\d{3}) \d+ upstream=(\S+)', line)
            if m:
                out.append({"client": m.group(1), "request": m.group(2), "status": int(m.group(3)),
                            "upstream": m.group(4)})
        return out
