"""`skillcert nginx-config`: the configuration nginx needs in front of several server processes, valid for
Debian's nginx (`nginx -t`)."""
from __future__ import annotations

import re
import shutil

from click.testing import CliRunner

from examserver.cli import cli

from ..nginxproc import check, generate, require_nginx, runtime_dir


def _location(text: str, path: str) -> str:
    m = re.search(r"location " + re.escape(path) + r" \{(.*?)\n\s*\}", text, re.S)
    assert m, f"no location {path}"
    return m.group(1)


def _seconds(block: str, directive: str) -> int:
    m = re.search(directive + r" (\d+)s;", block)
    assert m, f"{directive} missing"
    return int(m.group(1))


def test_the_config_balances_by_client_address_and_proxies_websockets_and_long_polls():
    text = generate("--upstream", "127.0.0.1:5001", "--upstream", "127.0.0.1:5002", "--listen", "8080")
    up = re.search(r"upstream skillcert \{(.*?)\}", text, re.S).group(1)
    assert "ip_hash;" in up
    assert re.findall(r"server (\S+);", up) == ["127.0.0.1:5001", "127.0.0.1:5002"]
    assert re.search(r"^\s*listen 8080;", text, re.M)

    sio = _location(text, "/socket.io/")
    assert "proxy_set_header Upgrade $http_upgrade;" in sio
    conn = re.search(r"proxy_set_header Connection \$(\w+);", sio).group(1)
    assert re.search(r"map \$http_upgrade \$" + conn + r" \{\s*default upgrade;", text)
    assert "proxy_http_version 1.1;" in text
    # a long-poll is held ~25 s and websockets idle between pings: nginx must not cut either
    assert _seconds(sio, "proxy_read_timeout") >= 60 and _seconds(sio, "proxy_send_timeout") >= 60

    # proxy_set_header in a location replaces all inherited ones: every location forwards the client
    for block in (sio, _location(text, "/")):
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in block
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in block
        assert "proxy_pass http://skillcert;" in block

    size = re.search(r"client_max_body_size (\d+)([km]?);", text)
    assert int(size.group(1)) * {"k": 1024, "m": 1024 ** 2, "": 1}[size.group(2)] > 20 * 1024 ** 2  # imports ≤ 20 MB
    assert "SKILLCERT_PROXY_COUNT=1" in text


def test_bad_options_are_refused_by_name():
    r = CliRunner().invoke(cli, ["nginx-config", "--upstream", "localhost"])
    assert r.exit_code == 2 and "--upstream" in r.output and "HOST:PORT" in r.output
    r = CliRunner().invoke(cli, ["nginx-config", "--upstream", "127.0.0.1:5001", "--listen", "99999"])
    assert r.exit_code == 2 and "--listen" in r.output
    r = CliRunner().invoke(cli, ["nginx-config", "--upstream", "127.0.0.1:5001", "--socket-timeout", "20"])
    assert r.exit_code == 2 and "--socket-timeout" in r.output
    r = CliRunner().invoke(cli, ["nginx-config"])
    assert r.exit_code == 2 and "--upstream" in r.output


def test_debian_nginx_accepts_the_complete_config_and_the_site_snippet():
    require_nginx()
    d = runtime_dir()
    try:
        full = d / "nginx.conf"
        full.write_text(generate("--upstream", "127.0.0.1:5001", "--upstream", "[::1]:5002", "--listen",
                                 "127.0.0.1:18080", "--runtime-dir", str(d)))
        t = check(full, d)
        assert t.returncode == 0, t.stderr

        # the http-level part as Debian's /etc/nginx/nginx.conf includes it from conf.d/
        (d / "conf.d").mkdir()
        site = generate("--upstream", "127.0.0.1:5001", "--site")
        assert "events" not in site and "http {" not in site and "pid " not in site
        (d / "conf.d" / "skillcert.conf").write_text(
            site.replace("/var/log/nginx/skillcert.access.log", str(d / "access.log")))
        main = d / "main.conf"
        main.write_text(f"pid {d}/main.pid;\nerror_log {d}/error.log;\nevents {{}}\n"
                        f"http {{\n    include {d}/conf.d/*.conf;\n}}\n")
        t = check(main, d)
        assert t.returncode == 0, t.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)
