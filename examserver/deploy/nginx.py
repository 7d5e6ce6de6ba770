"""The nginx configuration of the scaled profile, rendered from ``nginx.conf.j2`` beside this module.

nginx proxies pages, the API and Socket.IO to several ``skillcert serve`` processes: websocket upgrade headers on
``/socket.io/``, read timeouts above Engine.IO's ping interval, ``ip_hash`` so a long-polling client keeps
reaching the process that holds its session, X-Forwarded-For/-Proto for the app (``SKILLCERT_PROXY_COUNT=1``).
"""
from __future__ import annotations

import dataclasses
import pathlib
import re

TEMPLATE = pathlib.Path(__file__).with_name("nginx.conf.j2")
_HOSTPORT = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")
_SIZE = re.compile(r"^\d+[kKmMgG]?$")
_NAME = re.compile(r"^[A-Za-z0-9.\-_*~^$\\]+$")


class ConfigError(ValueError):
    """A bad option, with the option's name."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option


@dataclasses.dataclass(frozen=True)
class Paths:
    pid: str
    error_log: str
    access_log: str
    temp: str | None  # directory of the *_temp directories; None: nginx's compiled-in ones (Debian: /var/lib/nginx)


def debian_paths(site: bool) -> Paths:
    return Paths("/run/nginx.pid", "/var/log/nginx/error.log",
                 "/var/log/nginx/skillcert.access.log" if site else "/var/log/nginx/access.log", None)


def runtime_paths(runtime_dir: str | pathlib.Path) -> Paths:
    """Everything nginx writes under one existing directory: for running it unprivileged or in a test."""
    d = pathlib.Path(runtime_dir).resolve()
    return Paths(str(d / "nginx.pid"), str(d / "error.log"), str(d / "access.log"), str(d))


def _port_ok(port: str) -> bool:
    return 1 <= int(port) <= 65535


def _upstream(u: str) -> str:
    m = _HOSTPORT.match(u.strip())
    if not m or not _port_ok(m.group(1)):
        raise ConfigError("--upstream", f"expected HOST:PORT of a `skillcert serve` process, got {u!r}")
    return u.strip()


def _listen(value: str) -> str:
    v = value.strip()
    if v.isdigit():
        if not _port_ok(v):
            raise ConfigError("--listen", f"port out of range: {v}")
        return v
    m = _HOSTPORT.match(v)
    if not m or not _port_ok(m.group(1)):
        raise ConfigError("--listen", f"expected PORT or ADDRESS:PORT, got {value!r}")
    return v


def render(upstreams: list[str], *, listen: str = "80", server_name: str = "_", max_body: str = "25m",
           socket_timeout: int = 600, request_timeout: int = 300, worker_connections: int = 8192,
           site: bool = False, runtime_dir: str | pathlib.Path | None = None, user: str | None = None,
           argv: list[str] | None = None) -> str:
    """The configuration text: a complete ``nginx.conf`` (or with ``site`` the http-level part for
    ``/etc/nginx/conf.d/``). Raises :class:`ConfigError` naming the bad option."""
    from jinja2 import Environment, StrictUndefined
    if not upstreams:
        raise ConfigError("--upstream", "give at least one server process (HOST:PORT)")
    ups = [_upstream(u) for u in upstreams]
    if len(set(ups)) != len(ups):
        raise ConfigError("--upstream", "the same server process is listed twice")
    if not _SIZE.match(max_body):
        raise ConfigError("--max-body", f"expected a size such as 25m, got {max_body!r}")
    if not all(_NAME.match(n) for n in server_name.split()) or not server_name.split():
        raise ConfigError("--server-name", f"not a server name: {server_name!r}")
    if socket_timeout < 60:
        raise ConfigError("--socket-timeout", "must be at least 60 s (Engine.IO pings every 25 s and a long-poll "
                                              "is held that long)")
    if request_timeout < 10:
        raise ConfigError("--request-timeout", "must be at least 10 s")
    if worker_connections < 512:
        raise ConfigError("--worker-connections", "must be at least 512")
    if site and runtime_dir:
        raise ConfigError("--runtime-dir", "a site snippet uses the Debian nginx's own paths")
    if user is not None and not re.match(r"^[a-z_][a-z0-9_-]*( [a-z_][a-z0-9_-]*)?$", user):
        raise ConfigError("--user", f"not a user name: {user!r}")
    paths = runtime_paths(runtime_dir) if runtime_dir else debian_paths(site)
    if user is None and not runtime_dir:
        user = "www-data"
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    text = env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        upstreams=ups, listen=_listen(listen), server_name=server_name, max_body=max_body,
        socket_timeout=socket_timeout, request_timeout=request_timeout, worker_connections=worker_connections,
        site=site, paths=paths, user=user, argv=argv or [])
    return text.lstrip("\n")
