"""The application factory."""
from __future__ import annotations

import logging
import pathlib

from flask import Flask, g, jsonify, render_template, request, session
from flask.ctx import RequestContext
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from itembank.core import audit
from itembank.core.config import load_settings
from itembank.core.db import Database
from itembank.core.errors import DomainError

from . import access, i18n
from .api import ApiError, error_response
from .extensions import babel, csrf, limiter, socketio

CLIENT = pathlib.Path(__file__).resolve().parent.parent / "client"
SOCKETIO_PATH = "/socket.io"
# Engine.IO's transport pings (python-engineio's default is every 25 s). The pages check liveness themselves
# (the exam page's heartbeat, the proctor dashboard's ping); transport pings only close dead sockets, so they
# can be rare: at 2,000 candidates the 25-s pings alone pushed ack p99 from ~115 ms to 260+ ms (bench.delivery).
PING_INTERVAL_S = 60
log = logging.getLogger("skillcert")
# Page blueprints of each domain package ("module:attribute"); their API routes register on api.bp.
DOMAIN_BLUEPRINTS: list[str] = ["examserver.certification.pages:bp", "examserver.delivery.pages:bp", "examserver.itembank_app.pages:bp", "examserver.administration.pages:bp", "examserver.violations.pages:bp", "examserver.marking.pages:bp", "examserver.analysis.pages:bp"]


class _SocketEventContext(RequestContext):
    """The request context of one Socket.IO event. Flask-SocketIO builds one per event from the connection's
    environ; the path is always ``/socket.io/`` (nothing to route: matching it against every page and API rule
    and raising NotFound took a tenth of an answer save) and the connection's session was opened by its first
    event (Flask-SocketIO keeps it in the environ; re-reading and re-verifying the cookie took another tenth)."""

    def match_request(self) -> None:
        pass


class SkillCertFlask(Flask):
    def request_context(self, environ: dict) -> RequestContext:
        if environ.get("PATH_INFO", "").startswith(SOCKETIO_PATH):  # only Flask-SocketIO's events get here
            return _SocketEventContext(self, environ, session=environ.get("saved_session"))
        return super().request_context(environ)


def build_app(overrides: dict, env: dict[str, str] | None) -> Flask:
    settings = load_settings(env)
    app = SkillCertFlask("examserver", template_folder=str(CLIENT / "templates"), static_folder=str(CLIENT / "static"),
                static_url_path="/static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        BABEL_DEFAULT_LOCALE="zh_CN",
        # one catalog folder per area (client/i18n/<area>/zh_CN/LC_MESSAGES/messages.po); Flask-Babel merges them
        BABEL_TRANSLATION_DIRECTORIES=";".join(str(d) for d in sorted((CLIENT / "i18n").iterdir()) if d.is_dir()),
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        LOGIN_RATE_LIMIT=settings.login_rate_limit,
        LOGIN_ADDRESS_LIMIT=settings.login_address_limit,
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        SKILLCERT_SETTINGS=settings,
        SOCKETIO_ASYNC_MODE="threading",
        JSON_AS_ASCII=False,
    )
    app.config.update(overrides)
    app.json.ensure_ascii = False

    db = Database(settings.database_url)
    app.extensions["skillcert.db"] = db
    from .keys import load_or_create_signer
    signer = load_or_create_signer(settings.data_dir)
    app.extensions["skillcert.signer"] = signer
    audit.configure(signer, settings.checkpoint_every)

    i18n.compile_catalogs(CLIENT / "i18n")
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    from . import realtime  # the namespaces must be known before init_app
    # The SocketIO object is process-wide: a scaled app must not leave its Redis manager to a later embedded one
    # (Flask-SocketIO keeps the previous client_manager unless told otherwise).
    queue = {"message_queue": settings.redis_url} if settings.profile == "scaled" else {"message_queue": None,
                                                                                         "client_manager": None}
    socketio.init_app(app, async_mode=app.config["SOCKETIO_ASYNC_MODE"], cors_allowed_origins=[], logger=False,
                      engineio_logger=False, ping_interval=PING_INTERVAL_S, **queue)
    realtime.spread_pings(socketio.server.eio)
    if settings.proxy_count:  # outermost, so Socket.IO's handlers and the rate limits see the client's address
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_count, x_proto=settings.proxy_count)

    from .tasks import init_celery
    init_celery(app, settings)

    from .api import bp as api_bp
    from .pages import bp as pages_bp
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)
    import importlib
    for ref in DOMAIN_BLUEPRINTS:
        module, name = ref.split(":")
        app.register_blueprint(getattr(importlib.import_module(module), name))
    csrf.exempt(api_bp)  # the API checks CSRF itself, only for cookie-authenticated calls

    @app.before_request
    def _who_and_may_they():
        with db.read_scope() as s:
            g.principal = access.load_principal(s)
        access.enforce()
        # CSRF guards ambient (cookie) authority: every page form, and API calls riding the session cookie.
        # Bearer-token calls and the anonymous token exchange carry no ambient authority.
        if request.method not in ("GET", "HEAD", "OPTIONS") and not g.get("auth_by_token") and (
                not request.path.startswith("/api/") or g.principal is not None):
            csrf.protect()

    @app.context_processor
    def _inject():
        from itembank.core.people import ROLES
        from .navigation import links_for
        p = g.get("principal")
        return {"principal": p, "ROLES": ROLES, "locale": i18n.current_locale(), "profile": settings.profile,
                "nav_links": links_for(p.role if p else None)}

    _register_errors(app)
    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or request.accept_mimetypes.best == "application/json"


def _register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(e: DomainError):
        if _wants_json():
            return error_response(e.status, e.code, e.message, e.field, **e.details)
        return render_template("error.html", status=e.status, message=e.message), e.status

    @app.errorhandler(ApiError)
    def _api(e: ApiError):
        return error_response(e.status, e.code, e.message, e.field)

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError):
        if _wants_json():
            return error_response(400, "csrf", f"CSRF token missing or invalid: {e.description}", "csrf_token")
        return render_template("error.html", status=400, message=_("The form expired; reload the page and try again.")), 400

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                429: "rate_limited"}.get(e.code, "http_error")
        if _wants_json():
            return error_response(e.code, code, e.description or e.name)
        if e.code == 401:
            from flask import redirect, url_for
            return redirect(url_for("pages.login", next=request.full_path))
        return render_template("error.html", status=e.code, message=e.description), e.code

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return jsonify({"error": {"code": "internal", "message": "internal error", "field": None}}), 500
        return render_template("error.html", status=500, message=_("Internal error")), 500
