"""gunicorn settings for NVCD Monitor (read by `gunicorn -c gunicorn.conf.py wsgi:app`).

Worker class: gevent. A WebSocket is a long-lived request; under gthread each
one pins a pool thread plus a reader thread and `--threads` becomes a hard cap
on clients (at the cap even /healthz starves). Under gevent each socket is a
greenlet (~40 KB), so one worker holds thousands of sockets and ordinary HTTP
keeps flowing. gunicorn monkey-patches before loading the app; nothing here
imports psycopg, so the database driver is imported after the patch and
cooperates with the event loop.
"""

import os

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
