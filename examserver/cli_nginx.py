"""``skillcert nginx-config``: print the nginx configuration for several ``skillcert serve`` processes.

Imports only click and :mod:`examserver.deploy.nginx`; the main CLI adds it like the other optional commands.
"""
from __future__ import annotations

import shlex
import sys

import click

from examserver.deploy.nginx import ConfigError, render


@click.command("nginx-config")
@click.option("--upstream", "upstreams", multiple=True, required=True, metavar="HOST:PORT",
              help="a `skillcert serve` process (repeat: one per core)")
@click.option("--listen", default="80", show_default=True, help="PORT or ADDRESS:PORT nginx listens on")
@click.option("--server-name", default="_", show_default=True)
@click.option("--max-body", default="25m", show_default=True,
              help="client_max_body_size (item-bank imports take files up to 20 MB)")
@click.option("--socket-timeout", default=600, show_default=True, type=int,
              help="proxy read/send timeout on /socket.io/ in seconds (long-polling and websockets)")
@click.option("--request-timeout", default=300, show_default=True, type=int,
              help="proxy read timeout of pages and the API in seconds")
@click.option("--worker-connections", default=8192, show_default=True, type=int)
@click.option("--site", is_flag=True,
              help="print only the http-level part, for Debian's /etc/nginx/conf.d/skillcert.conf")
@click.option("--runtime-dir", type=click.Path(file_okay=False), default=None,
              help="write pid, logs and temp files under this existing directory instead of Debian's paths")
@click.option("--user", default=None, help="user of the worker processes (default www-data with Debian's paths)")
def nginx_config(upstreams, listen, server_name, max_body, socket_timeout, request_timeout, worker_connections,
                 site, runtime_dir, user) -> None:
    """Print a complete nginx.conf for the scaled profile: ip_hash upstream of the server processes,
    websocket upgrade on /socket.io/, X-Forwarded-For/-Proto (start the servers with SKILLCERT_PROXY_COUNT=1)."""
    try:
        text = render(list(upstreams), listen=listen, server_name=server_name, max_body=max_body,
                      socket_timeout=socket_timeout, request_timeout=request_timeout,
                      worker_connections=worker_connections, site=site, runtime_dir=runtime_dir, user=user,
                      argv=[shlex.quote(a) for a in sys.argv[sys.argv.index("nginx-config") + 1:]]
                      if "nginx-config" in sys.argv else [])
    except ConfigError as e:
        raise click.BadParameter(str(e).split(": ", 1)[1], param_hint=e.option) from None
    click.echo(text, nl=False)
