"""The served app for browser tests: `skillcert init && skillcert demo` built once per test session (by the CLI,
as `make run` does), copied per test module, and `skillcert serve` started on the copy.

Fixtures (in tests/conftest.py): ``served_demo`` — a factory ``served_demo(name) -> Served``; ``browser`` — one
headless Debian Chromium per test module. ``sign_in(browser, base, username)`` opens a signed-in page.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
CLI = [sys.executable, "-m", "examserver.cli"]
PASSWORD = "skillcert-demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def embedded_env(data_dir: str | os.PathLike) -> dict:
    """The process environment of an embedded deployment in ``data_dir`` (never the scaled pass's servers)."""
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(data_dir)}
    for var in ("SKILLCERT_DATABASE_URL", "SKILLCERT_REDIS_URL"):
        env.pop(var, None)
    return env


@dataclasses.dataclass
class DemoBuild:
    data: pathlib.Path
    output: str  # what `skillcert demo` printed (logins, the open sitting's access code, a ticket …)


def build_demo(target: pathlib.Path) -> DemoBuild:
    env = embedded_env(target)
    subprocess.run(CLI + ["init"], env=env, cwd=ROOT, check=True, capture_output=True)
    out = subprocess.run(CLI + ["demo"], env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    assert PASSWORD in out, out[-2000:]
    for f in target.glob("*.writelock"):
        f.unlink()
    return DemoBuild(target, out)


@dataclasses.dataclass
class Served:
    base: str
    data: pathlib.Path
    demo_output: str
    proc: subprocess.Popen

    @property
    def db_path(self) -> pathlib.Path:
        return self.data / "skillcert.db"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def serve_copy(build: DemoBuild, target: pathlib.Path, *, wait_s: float = 120) -> Served:
    """Copy the demo build to ``target`` and start `skillcert serve` on it; waits for /healthz."""
    shutil.copytree(build.data, target)
    port = free_port()
    log = open(target / "serve.log", "wb")
    base = f"http://127.0.0.1:{port}"
    env = {**embedded_env(target), "SKILLCERT_PUBLIC_URL": base}  # certificates' QR codes point to this server
    proc = subprocess.Popen(CLI + ["serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait_s  # gevent start-up takes a while on a busy machine
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return Served(base, target, build.output, proc)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start: " + (target / "serve.log").read_text(errors="replace")[-2000:])


def sign_in(browser, base: str, username: str, *, viewport: dict | None = None, locale: str | None = None,
            errors: list | None = None):
    """A new browser context signed in through the real login form; returns its page on the landing page.
    ``errors``, if given, collects the page's uncaught script errors from the login page on."""
    opts = {}
    if viewport:
        opts["viewport"] = viewport
    if locale:
        opts["locale"] = locale
    page = browser.new_context(**opts).new_page()
    if errors is not None:
        page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page
