"""gunicorn settings for scripts/serve: private access log, workers from the environment.

The access log keeps method, path, status, size and duration. It drops the query string, the
referer (a page URL can carry ?q=), the client address and the user agent, and logs a path only
when it is a known route without a postcode in it (locator/logmask.py): a family's query is
personal data.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import signal

from gunicorn.glogging import Logger

from locator.logmask import escape_controls, mask_path

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# The master loads the data once and forks the workers, which share its pages (copy-on-write):
# start-up costs one load, whatever the number of workers. Nothing is shared at run time.
preload_app = True
timeout = 30
graceful_timeout = 10
accesslog = os.environ.get("LOCATOR_ACCESS_LOG", "-")
errorlog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
logger_class = "locator.gunicorn_conf.PrivateLogger"

_PRIVATE_PATH = re.compile(r"(/postcodes/)[^/?\s'\"]*")
_QUERY = re.compile(r"\?[^\s'\"]*")
_CLIENT = re.compile(r"ip=[^\s:]+")
# gunicorn quotes the offending part of a malformed request line: it may be part of a query.
_BAD_REQUEST = re.compile(r"(Invalid [^:]*: ).*")


def scrub(text: str) -> str:
    """A log text without query strings, postcodes in paths, client addresses or request lines;
    control characters escaped except the line breaks of a traceback."""
    text = _BAD_REQUEST.sub(r"\1…", text)
    text = _PRIVATE_PATH.sub(r"\1…", _QUERY.sub("?…", text))
    return "\n".join(escape_controls(line) for line in _CLIENT.sub("ip=…", text).split("\n"))


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


_SCRUB = _ScrubFilter()


class PrivateLogger(Logger):
    """gunicorn's logger with private request parts removed from every access-log atom and
    every error-log message (malformed request lines, tracebacks, debug lines)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        self.error_log.addFilter(_SCRUB)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # PATH_INFO is missing when gunicorn answers a malformed request itself (400): the
        # logger must not fail then, or the worker dies with it.
        path = mask_path(environ.get("PATH_INFO"))
        atoms["U"] = path
        atoms["r"] = f"{atoms.get('m') or '-'} {path} {atoms.get('H') or '-'}"
        for key in ("q", "f", "h", "a", "{raw_uri}e", "{path_info}e", "{query_string}e",
                    "{remote_addr}e", "{http_referer}e", "{request_uri}e"):
            atoms.pop(key, None)
        return atoms


def pre_fork(server, worker) -> None:
    """Move everything loaded so far (the data) to the collector's permanent generation: a
    worker's collections then neither walk those ~10^5 objects nor write to their pages, which
    stay shared with the master (Python's advice for fork without exec, see gc.freeze)."""
    gc.freeze()


def post_worker_init(worker) -> None:
    """SIGHUP to a worker means the same as to the master: pass it on, instead of gunicorn's
    default for workers (terminate at once, dropping the request in flight)."""
    signal.signal(signal.SIGHUP, lambda *_: os.kill(worker.ppid, signal.SIGHUP))


def on_reload(server) -> None:
    """SIGHUP to the master: reload the data there, then gunicorn replaces the workers.

    The new workers fork from the master, so they serve the new data; when the new files are
    bad, LocatorState.reload() logs why and keeps the old data, which the new workers serve.
    """
    gc.unfreeze()  # the old data may be collected once it is replaced
    server.app.wsgi().extensions["locator"].reload()
