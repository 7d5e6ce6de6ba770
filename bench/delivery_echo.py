"""A bare Flask-SocketIO server on gevent, the yardstick for bench/delivery: ``/exam`` acks every ``save``
without touching a database. Run: ``python -m bench.delivery_echo PORT``."""
from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from flask import Flask  # noqa: E402
from flask_socketio import Namespace, SocketIO  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", logger=False, engineio_logger=False)


class Echo(Namespace):
    def on_connect(self, auth=None):
        return True

    def on_save(self, data):
        return {"ok": True, "seq": (data or {}).get("seq")}

    def on_sync(self, data=None):
        return {"last_seq": 0}

    def on_heartbeat(self, data=None):
        return {"ok": True}


socketio.on_namespace(Echo("/exam"))

if __name__ == "__main__":
    @app.get("/healthz")
    def healthz():
        return {"ok": True}
    socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_output=False)
