"""Second-pass probes of the HTTP layer: JSON bombs, stalled bodies, malformed Host headers and
non-HTTP (WebSocket) scopes. Each one was a real gap before it was fixed."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from starlette.types import Message, Receive, Scope, Send

from entrypoints.http.body_limit import BodyLimit
from entrypoints.http.security import BearerAuth, HostOriginGuard
from tests.http.helpers import AUTH, TOKEN


def http_scope(
    path: str = "/v1/images/generations", method: str = "POST", host: str = "127.0.0.1:8000"
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host.encode()), (b"content-type", b"application/json")],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


class Recorder:
    """An inner ASGI app that records whether it was reached and what body it read."""

    def __init__(self) -> None:
        self.reached = False
        self.body = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached = True
        if scope["type"] == "http":
            message = await receive()
            self.body = message.get("body", b"")
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


async def drive(app: Any, scope: Scope, incoming: list[Message | float]) -> list[Message]:
    """Run ``app`` once; a float in ``incoming`` is a pause before the next message, and once
    ``incoming`` runs out the client stalls forever (as a slowloris client does)."""
    sent: list[Message] = []
    queue = list(incoming)

    async def receive() -> Message:
        if queue and isinstance(queue[0], float):
            await asyncio.sleep(queue.pop(0))  # type: ignore[arg-type]
        if queue:
            return queue.pop(0)  # type: ignore[return-value]
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=5)
    return sent


def chunk(body: bytes, more: bool = True) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


# -- JSON bombs --------------------------------------------------------------------------


async def test_deeply_nested_json_is_a_coded_400_not_an_internal_error(
    client: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    bomb = "[" * 200_000 + "]" * 200_000
    response = await client.post(
        "/v1/images/generations", content=bomb, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert "unexpected error" not in caplog.text  # no traceback per hostile request


# -- slow bodies ---------------------------------------------------------------------------


async def test_a_stalled_body_is_refused_with_408() -> None:
    inner = Recorder()
    limit = BodyLimit(inner, max_bytes=1_000_000, idle_timeout_s=0.05, total_timeout_s=5)
    sent = await drive(limit, http_scope(), [chunk(b'{"prompt":')])  # then nothing, ever
    assert sent[0]["status"] == 408 and not inner.reached
    assert b'"request_timeout"' in sent[1]["body"]


async def test_a_trickled_body_hits_the_overall_deadline() -> None:
    inner = Recorder()
    limit = BodyLimit(inner, max_bytes=1_000_000, idle_timeout_s=0.1, total_timeout_s=0.15)
    trickle: list[Message | float] = []
    for _ in range(20):  # every pause is under the idle timeout; the whole is not
        trickle += [0.02, chunk(b" ")]
    sent = await drive(limit, http_scope(), trickle)
    assert sent[0]["status"] == 408 and not inner.reached


async def test_a_prompt_body_within_the_deadlines_reaches_the_app() -> None:
    inner = Recorder()
    limit = BodyLimit(inner, max_bytes=1_000_000, idle_timeout_s=0.1, total_timeout_s=1)
    sent = await drive(limit, http_scope(), [chunk(b"{"), 0.02, chunk(b"}", more=False)])
    assert sent[0]["status"] == 200 and inner.body == b"{}"


# -- Host header parsing -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["[::1]evil.test", "[::1]:80evil", "localhost:abc", "[::1", "127.0.0.1:"])
async def test_malformed_host_headers_are_421(client: httpx2.AsyncClient, host: str) -> None:
    response = await client.get("/v1/images", headers={"Host": host})
    assert response.status_code == 421, host
    assert response.json()["code"] == "misdirected_request"


@pytest.mark.parametrize("host", ["[::1]:8000", "[::1]", "localhost", "LOCALHOST:8000", "127.0.0.1:8000"])
async def test_well_formed_loopback_hosts_pass(client: httpx2.AsyncClient, host: str) -> None:
    response = await client.get("/v1/images", headers={"Host": host})
    assert response.status_code == 200, host


# -- WebSocket scopes ------------------------------------------------------------------------


def websocket_scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {**http_scope("/mcp", "GET"), "type": "websocket", "scheme": "ws", "headers": headers}


@pytest.mark.parametrize(
    "layer",
    [
        lambda app: BearerAuth(app, tokens=[TOKEN]),
        lambda app: HostOriginGuard(app),
    ],
)
async def test_websocket_upgrades_never_reach_the_app(layer: Any) -> None:
    # No endpoint speaks WebSocket; a layer that waved such scopes through would leave every
    # future one unauthenticated and open to DNS rebinding.
    inner = Recorder()
    headers = [(b"host", b"evil.test"), (b"authorization", AUTH["Authorization"].encode())]
    sent = await drive(layer(inner), websocket_scope(headers), [{"type": "websocket.connect"}])
    assert not inner.reached
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]
