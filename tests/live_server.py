"""A real gunicorn serving the locator on a free loopback port, started and stopped by a test.

Used by the load, fault and privacy tests and by scripts/bench; anyone may reuse it::

    with LiveServer(workers=1) as server:
        status, headers, body = server.get("/healthz")

The server runs exactly as scripts/serve runs it (``--config python:locator.gunicorn_conf``),
with its error log (stderr) and, unless told otherwise, its access log in files of a private
temporary directory, readable as ``server.error_log`` and ``server.access_log``. LOCATOR_*
variables of the caller's shell are dropped unless ``inherit_locator_env=True``, so tests use
the embedded data.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = "locator:create_app()"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kb(pid: int) -> int:
    """Resident memory (VmRSS, KiB) of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (gunicorn's workers of its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) is in parentheses and may hold spaces: split after it.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return sorted(found)


class LiveServer:
    """gunicorn with ``workers`` sync workers on 127.0.0.1:<free port>."""

    def __init__(self, *, workers: int = 1, env: Mapping[str, str] | None = None,
                 access_log: str | Path | None = None, args: tuple[str, ...] = (),
                 inherit_locator_env: bool = False, gunicorn: str | Path | None = None,
                 app: str = APP) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="locator-live-"))
        self.error_log_file = self._dir / "error.log"
        self.access_log_file = Path(access_log) if access_log else self._dir / "access.log"
        base = {k: v for k, v in os.environ.items()
                if inherit_locator_env or not k.startswith("LOCATOR_")}
        self.env = {**base, "LOCATOR_ACCESS_LOG": str(self.access_log_file), **(env or {})}
        self.env.pop("WEB_CONCURRENCY", None)
        self.args = args
        self.app = app
        self.gunicorn = str(gunicorn or Path(sys.executable).parent / "gunicorn")
        self.process: subprocess.Popen | None = None
        self.startup_s: float | None = None

    # --- life cycle ------------------------------------------------------------------------

    def start(self, *, timeout_s: float = 60.0) -> LiveServer:
        """Start gunicorn and wait for the first answered /healthz (``startup_s``)."""
        command = [self.gunicorn, "--config", "python:locator.gunicorn_conf",
                   "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                   *_no_control_socket(), *self.args, self.app]
        started = time.perf_counter()
        with self.error_log_file.open("ab") as err:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env,
                                            stdout=err, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = started + timeout_s
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n"
                                   f"{self.error_log[-4000:]}")
            try:
                status, _, _ = self.get("/healthz", timeout_s=2.0)
            except OSError:
                status = None
            if status == 200:
                self.startup_s = time.perf_counter() - started
                return self
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz in {timeout_s} s:\n"
                           f"{self.error_log[-4000:]}")

    def wait_for_workers(self, *, timeout_s: float = 60.0) -> list[int]:
        """Worker pids, once all ``workers`` have booted and each has answered a request."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            booted = self.error_log.count("Booting worker with pid")
            if len(pids) == self.workers and booted >= self.workers:
                # A worker logs "Booting" before it loads the data: load each one fully by
                # asking /healthz more often than there are workers.
                for _ in range(4 * self.workers):
                    self.get("/healthz")
                return pids
            time.sleep(0.05)
        raise RuntimeError(f"{self.workers} workers did not boot:\n{self.error_log[-4000:]}")

    def stop(self, *, timeout_s: float = 15.0) -> int | None:
        """Stop gunicorn (SIGTERM, then SIGKILL) and return its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                for pid in self.worker_pids():
                    _kill(pid)
                self.process.kill()
                self.process.wait(timeout_s)
        return self.process.returncode

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.cleanup()

    # --- looking at it -----------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def worker_pids(self) -> list[int]:
        return children(self.pid) if self.process and self.process.poll() is None else []

    @property
    def error_log(self) -> str:
        """Everything gunicorn and the app wrote to stderr/stdout so far."""
        return read_log(self.error_log_file)

    @property
    def access_log(self) -> str:
        return read_log(self.access_log_file)

    def get(self, path: str, *, headers: Mapping[str, str] | None = None,
            timeout_s: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        """One GET on a new connection: (status, headers, body)."""
        return http_get(self.port, path, headers=headers, timeout_s=timeout_s)


def _no_control_socket() -> list[str]:
    """gunicorn >= 27 opens a control socket at one fixed path per user: servers started side
    by side (tests, benchmarks, a developer's own) would take it from each other."""
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return []
    names = {setting.name for setting in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def http_get(port: int, path: str, *, headers: Mapping[str, str] | None = None,
             timeout_s: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One GET to 127.0.0.1:port on a new connection: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", path, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def read_log(path: Path) -> str:
    """A log file's text so far ("" before it exists)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
