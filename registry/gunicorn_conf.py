"""gunicorn settings: ``gunicorn -c registry/gunicorn_conf.py wsgi:app``.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS. The app is
stateless, so scaling out is more workers here and more hosts behind the proxy.
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("REGISTRY_BIND", "127.0.0.1:8000")
# Threaded workers: requests are short and database-bound, and concurrent single-label
# issuances in one process share a ledger round (registry.labels.grouping), which needs
# several requests in flight per process. One process per core uses the cores; the threads
# overlap the waits on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("REGISTRY_THREADS", "8"))
# Not preloaded: each worker builds its own app and database pool after the fork, so no
# connection is ever shared between processes.
preload_app = False
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound; rarely, because a
# new worker starts with cold page caches and drops its predecessor's kept-alive connections
# (bench/issuance.py --memory shows one worker's RSS flat over 10^5 issuances).
max_requests = 200_000
max_requests_jitter = 20_000
# Bodies are capped by the app (MAX_CONTENT_LENGTH); headers here.
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"
# Without the one-time secrets a request path can carry (registry/gunicorn_logging.py).
logger_class = "registry.gunicorn_logging.RedactingLogger"
errorlog = "-"
loglevel = os.environ.get("REGISTRY_LOG_LEVEL", "info")
# Trust X-Forwarded-* only from the local reverse proxy.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker: object) -> None:
    """Each worker of the primary's hosts signs checkpoints for entries left uncovered (see
    registry.ledger.ticker) and runs queued label batches (registry.batches.runner); a replica
    host's workers write nothing, so they run neither."""
    from registry.background import start_background_jobs

    start_background_jobs(worker.wsgi)  # type: ignore[attr-defined]
