"""Flask extensions, created unbound and initialised by :func:`examserver.create_app`."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
socketio = SocketIO()


def login_key() -> str:
    """Rate-limit sign-in per (address, username): an exam room behind one NAT address signs in 30
    candidates at once, so a per-address limit alone would lock the room out; guessing one
    account's password is still throttled."""
    from flask import request
    data = request.get_json(silent=True) if request.is_json else None
    username = (data or {}).get("username") if isinstance(data, dict) else request.form.get("username")
    return f"{get_remote_address()}|{str(username or '').strip().lower()}"


def login_limits(fn):
    """Per-account limit from config plus a generous per-address ceiling."""
    from flask import current_app
    fn = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=login_key, methods=["POST"])(fn)
    return limiter.limit(lambda: current_app.config["LOGIN_ADDRESS_LIMIT"], methods=["POST"])(fn)
