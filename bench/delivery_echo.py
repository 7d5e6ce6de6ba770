"""A bare Flask-SocketIO server on gevent, the yardstick for bench/delivery: ``/exam`` acks every ``save``
without touching a database. It runs with the transport and garbage-collector settings of ``skillcert serve``
(Engine.IO ping interval and spread, collector thresholds) and paces heartbeats as SkillCert does.
Run: ``python -m bench.delivery_echo PORT``."""
from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from flask import Flask  # noqa: E402
from flask_socketio import Namespace, SocketIO  # noqa: E402

from examserver.app import PING_INTERVAL_S  # noqa: E402
from examserver.delivery.live import beat_interval_ms  # noqa: E402
from examserver.realtime import spread_pings  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", logger=False, engineio_logger=False, ping_interval=PING_INTERVAL_S)


class Echo(Namespace):
    """The same protocol as /exam, minus the database: it also paces heartbeats as SkillCert does."""
    connected = 0

    def on_connect(self, auth=None):
        Echo.connected += 1
        return True

    def on_disconnect(self, reason=None):
        Echo.connected -= 1

    def on_save(self, data):
        return {"ok": True, "seq": (data or {}).get("seq")}

    def on_sync(self, data=None):
        return {"last_seq": 0, "beat_ms": beat_interval_ms(Echo.connected)}

    def on_heartbeat(self, data=None):
        return {"ok": True, "beat_ms": beat_interval_ms(Echo.connected)}


socketio.on_namespace(Echo("/exam"))

if __name__ == "__main__":
    from examserver.cli import _tune_gc
    _tune_gc()
    spread_pings(socketio.server.eio)

    @app.get("/healthz")
    def healthz():
        return {"ok": True}
    socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_output=False)
