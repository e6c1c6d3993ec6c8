"""The production stack for tests: Debian's nginx, as locator/deploy/nginx.py renders its
configuration, in front of a real gunicorn (tests/live_server.py) on a Unix socket.

    with LiveServer(workers=2, args=unix_bind(sock)) as gunicorn, Nginx(sock) as nginx:
        nginx.get("/healthz")

nginx runs as the test's own process (``daemon off``) with ``-p <tmpdir>``: its pid file,
temp directories and logs live in that directory. Without nginx the tests are skipped with a
hint (scripts/install-nginx), except under CI=true where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from live_server import free_port, http_get, read_log
from required_tools import missing

from locator.deploy.nginx import ProxyConfig, render


def nginx_binary() -> str:
    """The nginx executable; skips the test (fails it under CI=true) when there is none."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                      else None)
    if found is None:
        missing("nginx is missing: run scripts/install-nginx (as root)")
    return found


def socket_dir() -> Path:
    """A directory for gunicorn's socket that nginx's workers (www-data when the tests run as
    root) may enter."""
    path = Path(tempfile.mkdtemp(prefix="locator-sock-"))
    path.chmod(0o755)
    return path


def unix_bind(sock: Path) -> tuple[str, ...]:
    """gunicorn arguments adding a Unix-socket listener beside LiveServer's TCP port."""
    return ("--bind", f"unix:{sock}")


class Nginx:
    """nginx on 127.0.0.1:<free port> in front of the gunicorn listening on ``sock``."""

    def __init__(self, sock: Path, **options) -> None:
        self.binary = nginx_binary()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="locator-nginx-"))
        self.dir.chmod(0o755)  # the temp directories below are entered by nginx's workers
        self.config = ProxyConfig(listen=f"127.0.0.1:{self.port}", socket=sock,
                                  run_dir=self.dir, worker_processes="1", **options)
        self.config_file = self.dir / "nginx.conf"
        self.config_file.write_text(render(self.config), encoding="utf-8")
        self.access_log_file = self.dir / "access.log"
        self.error_log_file = self.dir / "error.log"
        self.stderr_file = self.dir / "stderr.log"
        self.process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.dir), "-c", str(self.config_file),
                "-e", str(self.error_log_file), *extra]

    def start(self, *, timeout_s: float = 15.0) -> Nginx:
        with self.stderr_file.open("ab") as err:
            self.process = subprocess.Popen(self.command(), stdout=err, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}: "
                                   f"{read_log(self.stderr_file)}{read_log(self.error_log_file)}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nginx did not listen in {timeout_s} s: {read_log(self.stderr_file)}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish, flush the logs
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def access_log(self) -> str:
        return read_log(self.access_log_file)

    @property
    def error_log(self) -> str:
        return read_log(self.error_log_file) + read_log(self.stderr_file)

    def get(self, path: str, *, headers: Mapping[str, str] | None = None,
            timeout_s: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        """One GET on a new connection: (status, headers, body)."""
        return http_get(self.port, path, headers=headers, timeout_s=timeout_s)


def raw_exchange(port: int, data: bytes, *, timeout_s: float = 10.0) -> bytes:
    """Send bytes exactly as given on a new connection and read the answer to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


