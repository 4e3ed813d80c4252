"""Against the real console script on loopback: idle and slow-header connections are cut off
after the header deadline, and with hundreds of idle sockets open (more than the cap)
``/healthz`` still answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx2
import pytest

from tests.http.test_http_subprocess import console_server

HEADER_TIMEOUT = 1.0
CAP = 64


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    workdir = tmp_path_factory.mktemp("guarded-server")
    env = {"IMAGE_GEN_MCP_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "IMAGE_GEN_MCP_MAX_CONNECTIONS": str(CAP)}
    with console_server(workdir, "http", **env) as url:
        yield url, int(url.rsplit(":", 1)[1])


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def closed_by_server(sock: socket.socket, within: float) -> float | None:
    """Seconds until the server closed ``sock`` (read end-of-file or reset), None if it did not."""
    started = time.monotonic()
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return time.monotonic() - started
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - started
    except TimeoutError:
        return None


def test_a_silent_connection_is_closed_after_the_header_deadline(guarded: tuple[str, int]) -> None:
    with connect(guarded[1]) as sock:
        took = closed_by_server(sock, 4 * HEADER_TIMEOUT + 2)
    assert took is not None and took < HEADER_TIMEOUT + 1.5


def test_headers_sent_slowly_are_cut_off(guarded: tuple[str, int]) -> None:
    with connect(guarded[1]) as sock:
        started = time.monotonic()
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
        sent_all = True
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                sent_all = False
                break
            time.sleep(0.05)
            if time.monotonic() - started > 4 * HEADER_TIMEOUT + 2:
                break
        closed = not sent_all or closed_by_server(sock, 1.0) is not None
    assert closed and time.monotonic() - started < 4 * HEADER_TIMEOUT + 3


def test_healthz_answers_while_hundreds_of_idle_sockets_are_open(guarded: tuple[str, int]) -> None:
    url, port = guarded
    idle = [connect(port) for _ in range(300)]  # far more than the cap of 64
    try:
        started = time.monotonic()
        response = httpx2.get(f"{url}/healthz", timeout=5)
        assert response.status_code == 200
        assert time.monotonic() - started < 2
        # Idle ones were closed to make room: the server keeps no more than the cap open.
        time.sleep(0.3)
        still_open = 0
        for sock in idle:
            sock.setblocking(False)
            try:
                still_open += sock.recv(1) != b""
            except BlockingIOError:
                still_open += 1
            except OSError:
                pass
        assert still_open <= CAP
    finally:
        for sock in idle:
            sock.close()


def test_a_normal_keep_alive_client_is_unaffected(guarded: tuple[str, int]) -> None:
    url, _ = guarded
    with httpx2.Client(timeout=5) as client:
        assert [client.get(f"{url}/healthz").status_code for _ in range(3)] == [200, 200, 200]


