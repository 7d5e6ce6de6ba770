"""``skillcert``: the command line.

``skillcert serve`` patches the standard library for gevent before anything else is
imported, so the import of Flask and friends happens lazily inside each command.
"""
from __future__ import annotations

import sys

import click


@click.group()
def cli() -> None:
    """SkillCert: exam delivery and item bank for vocational skill level certification."""


def _app():
    from examserver import create_app
    return create_app()


def _settings():
    from itembank.core.config import load_settings
    return load_settings()


@cli.command()
def init() -> None:
    """Create or upgrade the database to the newest schema."""
    from examserver.migrate import upgrade
    s = _settings()
    upgrade(s.database_url)
    click.echo(f"database ready: {s.database_url.split('@')[-1]}")


@cli.command()
@click.option("--if-empty", is_flag=True, help="do nothing when demo data are already loaded")
def demo(if_empty: bool) -> None:
    """Load the demo data set (one agency, 车工 level-4 standard, staff, 60 candidates)."""
    from examserver import demo as demo_mod
    app = _app()
    db = app.extensions["skillcert.db"]
    with db.read_scope() as s:
        loaded = demo_mod.is_loaded(s)
    if loaded:
        if if_empty:
            click.echo("demo data already loaded")
            _print_logins(db)
            return
        raise click.ClickException("demo data already loaded; use a fresh SKILLCERT_DATA_DIR to reload")
    with db.write_scope() as s:
        demo_mod.load_demo(s)
    click.echo("demo data loaded")
    _print_logins(db)


def _print_logins(db) -> None:
    from sqlalchemy import select

    from examserver.demo import DEMO_PASSWORD
    from itembank.core.people import Account, RoleGrant
    with db.read_scope() as s:
        rows = s.execute(select(Account.username, RoleGrant.role).join(RoleGrant).where(
            RoleGrant.revoked_at.is_(None)).order_by(Account.id, RoleGrant.id)).all()
    seen, shown = set(), []
    for username, role in rows:
        if role == "candidate" and "candidate" in seen:
            continue
        seen.add(role)
        shown.append((username, role))
    click.echo(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
    for username, role in shown:
        click.echo(f"  {username:<12} {role}")
    click.echo("  cand001 … cand060 are the 60 candidates")


def _tune_gc() -> None:
    """Keep the collector's pauses out of answer acks. With CPython's default first-generation threshold (700
    allocations) the objects of thousands of open sockets are promoted and walked over and over: a full
    collection stopped the server for 100+ ms every ~10 s (bench.delivery, 2,000 candidates: p99 370–450 ms →
    ~90 ms with this; the bare echo server, pings off: p99 92 ms → 10 ms with the collector off). Objects from
    start-up live as long as the process: they are frozen out of every collection."""
    import gc
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web app and Socket.IO on gevent."""
    from examserver import create_app
    from examserver.extensions import socketio
    app = create_app({"SOCKETIO_ASYNC_MODE": "gevent"})
    _tune_gc()
    click.echo(f"SkillCert serving at http://{host}:{port}  (profile: {app.config['SKILLCERT_SETTINGS'].profile})")
    socketio.run(app, host=host, port=port, log_output=False)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run a Celery worker (with the periodic checkpoint schedule) for the scaled profile."""
    s = _settings()
    if not s.redis_url:
        raise click.ClickException("SKILLCERT_REDIS_URL is not set: the embedded profile runs tasks in-process")
    from examserver.tasks.worker import celery
    celery.worker_main(["worker", "-B", "-s", str(s.data_dir / "celerybeat-schedule"), "--loglevel=INFO", *ctx.args])


@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option("--checkpoints", type=click.File("r"), help="exported checkpoints (JSON lines) kept outside the DB")
@click.option("--public-key", type=click.File("rb"), help="Ed25519 public key PEM (default: the server's)")
def audit_verify(checkpoints, public_key) -> None:
    """Walk the chain and its checkpoints; name the first bad record."""
    import json

    from itembank.core import audit as trail
    app = _app()
    key = trail.load_public_key(public_key.read()) if public_key else app.extensions["skillcert.signer"].public_key
    external = [json.loads(line) for line in checkpoints if line.strip()] if checkpoints else []
    with app.extensions["skillcert.db"].read_scope() as s:
        rep = trail.verify(s, key, external)
    click.echo(f"records: {rep.records}  checkpoints: {rep.checkpoints}  head: #{rep.head_seq} {rep.head_hash[:16]}")
    if rep.ok:
        click.echo("audit chain OK")
        return
    click.echo(f"FIRST BAD: {rep.first_bad}", err=True)
    for p in rep.problems[1:]:
        click.echo(f"  also: {p}", err=True)
    sys.exit(1)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the current chain head now."""
    from itembank.core import audit as trail
    app = _app()
    with app.extensions["skillcert.db"].write_scope() as s:
        cp = trail.checkpoint(s, app.extensions["skillcert.signer"])
        click.echo(f"checkpoint at seq {cp.seq}" if cp else "empty chain: nothing to sign")


@audit.command("export")
@click.argument("out", type=click.File("w"))
def audit_export(out) -> None:
    """Export the signed checkpoints as JSON lines, to keep outside the database."""
    import json

    from itembank.core import audit as trail
    app = _app()
    with app.extensions["skillcert.db"].read_scope() as s:
        rows = trail.export_checkpoints(s)
    for r in rows:
        out.write(json.dumps(r) + "\n")
    click.echo(f"{len(rows)} checkpoints exported", err=True)


@cli.group()
def users() -> None:
    """People and accounts."""


@users.command("add")
@click.option("--name", required=True)
@click.option("--id-type", default="resident_id", show_default=True)
@click.option("--id-number", required=True)
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", required=True)
@click.option("--agency-id", type=int)
@click.option("--held-level", type=int)
@click.option("--title", default="")
def users_add(name, id_type, id_number, username, password, role, agency_id, held_level, title) -> None:
    """Register a person with an account holding one role (audited as the system)."""
    from itembank.core import directory
    from itembank.core.audit import SYSTEM
    from itembank.core.errors import DomainError
    from itembank.core.reference import Agency
    app = _app()
    try:
        with app.extensions["skillcert.db"].write_scope() as s:
            agency = directory.get_or_404(s, Agency, agency_id, "agency_id") if agency_id else None
            person = directory.create_person(s, SYSTEM, name=name, id_type=id_type, id_number=id_number)
            acc = directory.create_account(s, SYSTEM, person, username=username, password=password)
            directory.grant_role(s, SYSTEM, acc, role=role, agency=agency, held_level=held_level, title=title)
            click.echo(f"account {acc.id} {username} ({role}) created")
    except DomainError as e:
        raise click.ClickException(f"{e.field or ''}: {e.message}") from None


def _add_optional(group, module: str, name: str) -> None:
    import importlib
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        return
    group.add_command(getattr(mod, name))


_add_optional(cli, "examserver.cli_irt", "irt")
_add_optional(cli, "examserver.cli_certificates", "certificates")
_add_optional(cli, "examserver.cli_nginx", "nginx_config")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        from gevent import monkey
        monkey.patch_all()
    cli()


if __name__ == "__main__":
    main()
