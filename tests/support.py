"""Helpers for tests that run the real thing in a subprocess (manage.py, gunicorn, celery)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from config.processes import web_command, worker_command

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on (bound and released; nothing else will take it that fast)."""
    return free_port()


def subprocess_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment with overrides; None removes a variable."""
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for Playwright in this process only
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_manage(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run code with Django set up, in a fresh interpreter."""
    prelude = "import django; django.setup()\n"
    return subprocess.run(
        [PYTHON, "-c", prelude + code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def background(command: list[str], env: dict[str, str], log_path: Path):
    """Run a process for the duration of a with-block, then stop it and its children."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_for_http(
    url: str, timeout: float = 30, process=None, log_path: Path | None = None
) -> None:
    """Wait until url answers (any HTTP status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            log = log_path.read_text(errors="replace") if log_path else ""
            raise AssertionError(f"process exited with {process.returncode}:\n{log[-3000:]}")
        try:
            # A generous timeout: a server still booting answers late, and a
            # retry would send the same request twice.
            urllib.request.urlopen(url, timeout=15)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    log = log_path.read_text(errors="replace") if log_path else ""
    raise AssertionError(f"{url} did not answer within {timeout}s:\n{log[-3000:]}")


def wait_until(predicate, timeout: float = 30, interval: float = 0.2, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")


def gunicorn_command(workers: int = 2) -> list[str]:
    return web_command(workers)


def celery_worker_command(concurrency: int = 1) -> list[str]:
    return worker_command(concurrency)


class RedisServer:
    """A redis-server of the test's own, which the test may stop (SIGSTOP) and restart."""

    def __init__(self, directory: Path, *, appendonly: bool, extra: tuple[str, ...] = ()):
        self.directory, self.appendonly, self.extra = directory, appendonly, extra
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        import redis

        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.directory), "--save", "", "--daemonize", "no"]
        command += ["--appendonly", "yes" if self.appendonly else "no"]
        command += ["--appendfsync", "always", *self.extra]  # a restart right after a write
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 (the process keeps it)
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        probe = redis.Redis.from_url(self.url, socket_timeout=1)
        wait_until(lambda: _pings(probe), timeout=10, message="redis-server did not start")
        return self

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        """As a crash or a restart would: nothing saved on the way out but what AOF has."""
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@contextlib.contextmanager
def redis_server(directory: Path, *, appendonly: bool = False, extra: tuple[str, ...] = ()):
    server = RedisServer(directory, appendonly=appendonly, extra=extra).start()
    try:
        yield server
    finally:
        server.stop()


class TcpProxy:
    """Forwards a local port to a server; `stop()` cuts every connection and refuses new
    ones (the server looks down), `start()` brings it back on the same port."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.listener is not None

    def start(self) -> TcpProxy:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):  # wakes the accepting thread (Linux)
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
