"""gunicorn settings for NVCD Monitor (read by `gunicorn -c gunicorn.conf.py wsgi:app`).

Worker class: gevent. A WebSocket is a long-lived request; under gthread each
one pins a pool thread plus simple-websocket's reader thread and `--threads`
becomes a hard cap on clients (at the cap even /healthz starves). Under gevent
each socket is two greenlets (44 KB per connection measured, deflate included;
bench/README.md), so one worker holds thousands of sockets (2,000 benchmarked)
and ordinary HTTP keeps flowing beside them.

worker_connections bounds greenlets per worker (sockets + HTTP requests); it
must stay well above WS_MAX_CLIENTS so HTTP still has room when the socket cap
is reached. gunicorn monkey-patches before it loads the app; nothing in this
file imports psycopg at module level (that would bind psycopg's blocking wait
in the master and freeze workers), the hooks import the app's modules lazily.

The broadcaster starts in post_worker_init (after the fork and the patch, so
its thread is a greenlet of this worker); the app also starts it lazily on the
first socket, guarded by pid, for `flask run` and tests. On SIGTERM the worker
only flips `worker.alive`; a watcher tells the broadcaster to stop so every
handler sends close 1001 at once instead of hanging until graceful_timeout.

Slow clients: gunicorn's gevent worker reads each request's headers, and drains a body the
app left unread, within `keepalive` seconds (so keep it above 0); a body the app reads is
bounded by the app's own deadline (api/bodylimit.py, BODY_TIMEOUT_SECONDS), which needs
this worker class; pre_request lets that deadline close the connection after its 408.
"""

import os
import threading
import time

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "4000"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = "-" if os.environ.get("ACCESS_LOG") else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
control_socket_disable = True

SHUTDOWN_POLL_SECONDS = 0.1
CLOSE_WAIT_SECONDS = 3.0


def _close_sockets(worker) -> None:
    """Tell the worker's broadcaster to stop and wait briefly for its clients to get 1001."""
    from api.ws import broadcaster

    hub = broadcaster(worker.wsgi)
    hub.stop()
    if not hub.join(CLOSE_WAIT_SECONDS):
        worker.log.warning("%d WebSocket clients still open at shutdown", hub.client_count())


def _watch_for_exit(worker) -> None:
    while worker.alive:
        time.sleep(SHUTDOWN_POLL_SECONDS)
    _close_sockets(worker)


def post_worker_init(worker) -> None:
    """Start this worker's broadcaster and the watcher that closes sockets on shutdown."""
    from api.ws import broadcaster

    broadcaster(worker.wsgi).ensure_started()
    threading.Thread(target=_watch_for_exit, args=(worker,), name="ws-shutdown", daemon=True).start()


def pre_request(worker, req) -> None:
    """Log the request (gunicorn's default) and let the body deadline close its connection."""
    from api.bodylimit import remember_request

    worker.log.debug("%s %s", req.method, req.path)
    remember_request(req)


def worker_int(worker) -> None:
    """On SIGINT/SIGQUIT (quick exit) close the sockets with 1001 first."""
    _close_sockets(worker)
