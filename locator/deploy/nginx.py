"""The nginx configuration in front of gunicorn: nginx.conf.template filled in for one stack.

``locator nginx-config`` prints it, scripts/serve-proxied runs it, tests/test_proxy.py tests it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..logmask import KEPT_PATTERN, MASK, PREFIXES

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
PROBLEM_TYPE = "/api/v1/docs#problem-"
# nginx's own answers: (name, status, title, detail, extra headers). Those of a parsed request
# go to a named location, which keeps $uri (the access log shows which route was refused);
# those of a request nginx could not parse (400, 414, 505) to an internal URI, because a
# named location needs a parsed request line (nginx answers 500 otherwise).
PROBLEMS = (
    ("bad-request", 400, "Bad Request",
     "the request is malformed (request line, headers or their framing)", ()),
    ("uri-too-long", 414, "URI Too Long", "the request line (address and query) is too long",
     ()),
    ("http-version", 505, "HTTP Version Not Supported", "use HTTP/1.0 or HTTP/1.1", ()),
    ("timeout", 408, "Request Timeout", "the request did not arrive in time", ()),
    ("too-large", 413, "Content Too Large", "the request body is too large", ()),
    ("too-many-requests", 429, "Too Many Requests",
     "too many searches from this address: wait a second and try again",
     (("Retry-After", "1"),)),
    ("unavailable", 502, "Bad Gateway", "the service is not answering: try again shortly",
     (("Retry-After", "5"),)),
)
_UNPARSED = ("bad-request", "uri-too-long", "http-version")


@dataclass(frozen=True)
class ProxyConfig:
    """One stack: where nginx listens, gunicorn's socket, and nginx's own files."""

    listen: str  # "HOST:PORT" (IPv6 as "[::1]:8000") or a port
    socket: Path  # gunicorn's Unix socket (gunicorn --bind unix:PATH)
    run_dir: Path  # pid file and temp directories
    access_log: str = ""  # default: RUN_DIR/access.log; "/dev/stdout" works too
    error_log: str = ""  # default: RUN_DIR/error.log; "stderr" works too
    worker_processes: str = "auto"
    user: str = "www-data"  # the workers' user when the master runs as root
    search_rate_per_s: int = 10
    search_burst: int = 20
    tls_certificate: Path | None = None
    tls_certificate_key: Path | None = None


def render(config: ProxyConfig) -> str:
    """The nginx.conf text of ``config``; ValueError for a value nginx would misread."""
    for name in ("listen", "socket", "run_dir", "worker_processes", "access_log", "error_log",
                 "user", "tls_certificate", "tls_certificate_key"):
        value = getattr(config, name)
        if value not in (None, "") or name in ("listen", "socket", "run_dir"):
            _check_word(name, str(value))
    if (config.tls_certificate is None) != (config.tls_certificate_key is None):
        raise ValueError("give both a TLS certificate and its key, or neither")
    if config.search_rate_per_s < 1 or config.search_burst < 0:
        raise ValueError("the search rate must be >= 1/s and the burst >= 0")
    values = {
        "user": f"user {config.user};" if config.user else "",
        "worker_processes": config.worker_processes,
        "run_dir": str(config.run_dir),
        "socket": str(config.socket),
        "access_log": config.access_log or str(config.run_dir / "access.log"),
        "error_log": config.error_log or str(config.run_dir / "error.log"),
        "kept_pattern": KEPT_PATTERN + r"\z",
        "prefix_map": "\n".join(f'        "~^{re.escape(p)}" "{p}{MASK}";'
                                for p in PREFIXES[:-1]),
        "search_rate_per_s": str(config.search_rate_per_s),
        "search_burst": str(config.search_burst),
        "listen": _listen(config),
        "problem_locations": "\n\n".join(_problem_location(*p) for p in PROBLEMS),
        **{f"problem_{name.replace('-', '_')}": problem_target(name) for name, *_ in PROBLEMS},
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _check_word(name: str, value: str) -> None:
    if not value or re.search(r"[\s;{}'\"#$\\]", value):
        raise ValueError(f"{name} {value!r} must be one word without ; {{ }} quotes # $ \\")


def _listen(config: ProxyConfig) -> str:
    if config.tls_certificate is None:
        return f"        listen {config.listen};"
    # TLS is the operator's: certificates and keys go where the operator keeps them, e.g.
    # /etc/ssl/koki/fullchain.pem and /etc/ssl/private/koki.key (readable by root only).
    return "\n".join((
        f"        listen {config.listen} ssl;",
        f"        ssl_certificate {config.tls_certificate};",
        f"        ssl_certificate_key {config.tls_certificate_key};",
        "        ssl_protocols TLSv1.2 TLSv1.3;",
        "        ssl_session_cache shared:locator_tls:10m;",
    ))


def problem_target(name: str) -> str:
    """Where error_page sends nginx's own error ``name`` (see PROBLEMS)."""
    return f"/.problem/{name}" if name in _UNPARSED else f"@{name}"


def _problem_location(name: str, status: int, title: str, detail: str,
                      headers: tuple[tuple[str, str], ...]) -> str:
    body = json.dumps({"type": PROBLEM_TYPE + name, "title": title, "status": status,
                       "detail": detail}, separators=(",", ":"))
    target = problem_target(name)
    where = f"= {target}" if target.startswith("/") else target
    lines = [f"        location {where} {{",
             *(["            internal;"] if target.startswith("/") else []),
             "            default_type application/problem+json;",
             '            add_header Cache-Control "no-store" always;',
             '            add_header X-Content-Type-Options "nosniff" always;',
             '            add_header Referrer-Policy "no-referrer" always;']
    lines += [f'            add_header {k} "{v}" always;' for k, v in headers]
    # nginx reads \' inside a single-quoted string as a quote.
    lines += [f"            return {status} '{body.replace(chr(39), chr(92) + chr(39))}';",
              "        }"]
    return "\n".join(lines)
