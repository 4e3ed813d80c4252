"""Bearer tokens, Host/Origin checks, body limits and the bind guard, in process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from entrypoints.http.app import serve_http
from entrypoints.http.security import BearerAuth
from tests.http.helpers import (
    AUTH,
    BASE_URL,
    OTHER_TOKEN,
    TOKEN,
    data_url,
    http_settings,
    make_app,
    mcp_client_factory,
    noisy_png,
    serving,
)

EVERYWHERE = "0.0.0.0"  # noqa: S104 -- the public bind being refused
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
PROTECTED = [
    ("POST", "/v1/images/generations"),
    ("GET", "/v1/capabilities"),
    ("GET", "/v1/images"),
    ("GET", "/v1/images/" + "0" * 32),
    ("POST", "/mcp"),
    ("GET", "/somewhere-else"),
]


@pytest.fixture
async def anonymous(output_root: Path) -> AsyncIterator[httpx2.AsyncClient]:
    """A client of a token-protected app that sends no token."""
    async with serving(make_app(output_root)) as http:
        yield http


def refusal(response: httpx2.Response, path: str) -> dict[str, Any]:
    """The coded payload: the body itself on REST, ``error.data`` of a JSON-RPC error on MCP."""
    body: dict[str, Any] = response.json()
    if path == "/mcp":
        assert body["jsonrpc"] == "2.0" and body["id"] is None and body["error"]["code"] == -32600
        payload: dict[str, Any] = body["error"]["data"]
        assert body["error"]["message"] == f"[{payload['code']}] {payload['message']}"
        return payload
    return body


async def send(client: httpx2.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx2.Response:
    if method == "POST":
        kwargs.setdefault("json", INITIALIZE if path == "/mcp" else {"prompt": "x"})
        kwargs["headers"] = {**MCP_HEADERS, **kwargs.get("headers", {})}
    return await client.request(method, path, **kwargs)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_no_token_is_401_with_a_bearer_challenge(
    anonymous: httpx2.AsyncClient, method: str, path: str
) -> None:
    response = await send(anonymous, method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert refusal(response, path)["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "authorization", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", f"{TOKEN}"]
)
async def test_wrong_token_is_401(
    anonymous: httpx2.AsyncClient, method: str, path: str, authorization: str
) -> None:
    response = await send(anonymous, method, path, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert refusal(response, path)["code"] == "unauthorized"
    assert TOKEN not in response.text


async def test_every_configured_token_works(anonymous: httpx2.AsyncClient) -> None:
    for token in (TOKEN, OTHER_TOKEN):
        response = await anonymous.get("/v1/capabilities", headers={"Authorization": f"bearer {token}"})
        assert response.status_code == 200


async def test_mcp_with_a_token_answers_initialize(anonymous: httpx2.AsyncClient) -> None:
    response = await send(anonymous, "POST", "/mcp", headers=AUTH)
    assert response.status_code == 200
    assert "protocolVersion" in response.text
    assert "mcp-session-id" not in response.headers  # stateless: nothing to pin to an instance


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json"])
async def test_probes_and_the_api_description_need_no_token(anonymous: httpx2.AsyncClient, path: str) -> None:
    assert (await anonymous.get(path)).status_code == 200


async def test_without_configured_tokens_no_token_is_needed(output_root: Path) -> None:
    async with serving(make_app(output_root, IMAGE_GEN_MCP_AUTH_TOKENS=None)) as client:
        assert (await client.get("/v1/capabilities")).status_code == 200


def test_token_check_accepts_only_exact_tokens() -> None:
    auth = BearerAuth(app=None, tokens=["alpha", "beta"])  # type: ignore[arg-type]
    assert auth.accepts("alpha") and auth.accepts("beta")
    assert not any(auth.accepts(t) for t in ("", "alph", "alphaa", "ALPHA", "alpha,beta"))


@pytest.mark.parametrize("path", ["/v1/images/generations", "/mcp"])
@pytest.mark.parametrize("origin", ["http://evil.example", "https://127.0.0.1.evil.example", "null"])
async def test_foreign_origin_is_403(client: httpx2.AsyncClient, path: str, origin: str) -> None:
    response = await send(client, "POST", path, headers={"Origin": origin})
    assert response.status_code == 403
    assert refusal(response, path)["code"] == "forbidden"


@pytest.mark.parametrize("origin", [BASE_URL, "http://localhost:5173", "http://[::1]:3000"])
async def test_own_and_loopback_origins_pass(client: httpx2.AsyncClient, origin: str) -> None:
    response = await client.get("/v1/capabilities", headers={"Origin": origin})
    assert response.status_code == 200


async def test_configured_origin_passes(output_root: Path) -> None:
    app = make_app(
        output_root, IMAGE_GEN_MCP_ALLOWED_ORIGINS="https://app.example.com, https://*.corp.example"
    )
    async with serving(app, headers=AUTH) as client:
        for origin in ("https://app.example.com", "https://tools.corp.example"):
            assert (await client.get("/v1/capabilities", headers={"Origin": origin})).status_code == 200
        assert (
            await client.get("/v1/capabilities", headers={"Origin": "https://example.com"})
        ).status_code == 403


@pytest.mark.parametrize("path", ["/v1/capabilities", "/mcp"])
async def test_foreign_host_is_421(client: httpx2.AsyncClient, path: str) -> None:
    method = "POST" if path == "/mcp" else "GET"
    response = await send(client, method, path, headers={"Host": "rebound.evil.example"})
    assert response.status_code == 421
    assert refusal(response, path)["code"] == "misdirected_request"


async def test_configured_host_passes(output_root: Path) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_ALLOWED_HOSTS="*.images.example")
    async with serving(app, headers=AUTH) as client:
        ok = await client.get("/v1/capabilities", headers={"Host": "eu.images.example:443"})
        other = await client.get("/v1/capabilities", headers={"Host": "images.example.org"})
    assert ok.status_code == 200 and other.status_code == 421


@pytest.mark.parametrize("path", ["/v1/images/edits", "/mcp"])
async def test_body_over_the_cap_is_a_coded_413(output_root: Path, path: str) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_MAX_BODY_BYTES=64 * 1024)
    body = json.dumps({"prompt": "x", "images": ["A" * 100_000]}).encode()
    async with serving(app, headers={**AUTH, **MCP_HEADERS}) as client:
        declared = await client.post(path, content=body)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
            for start in range(0, len(body), 16_384):
                yield body[start : start + 16_384]

        streamed = await client.post(path, content=chunks())
    for response in (declared, streamed):
        assert response.status_code == 413
        assert refusal(response, path)["code"] == "payload_too_large"
        assert refusal(response, path)["details"]["limit"] == 64 * 1024


async def test_unauthenticated_oversized_body_is_refused_as_unauthorized(output_root: Path) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_MAX_BODY_BYTES=64 * 1024)
    async with serving(app, headers=MCP_HEADERS) as client:
        response = await client.post("/mcp", content=b"x" * 200_000)
    assert response.status_code == 401  # the token is checked before any body is read


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_mcp_accepts_a_photo_larger_than_the_sdk_default_cap(output_root: Path, mode: str) -> None:
    """The MCP SDK refuses bodies over 4 MiB by itself; ours is raised to the configured cap."""
    photo = noisy_png(1300, 1200)  # ~4.7 MB, ~6.2 MB as base64
    assert len(data_url(photo)) > 4 * 1024 * 1024
    app = make_app(output_root)
    async with serving(app):
        transport = StreamableHttpTransport(
            f"{BASE_URL}/mcp", auth=TOKEN, httpx_client_factory=mcp_client_factory(app)
        )
        async with Client(transport, mode=mode) as client:
            result = await client.call_tool(
                "edit_image", {"prompt": "sharpen", "provider": "fake", "images": [data_url(photo)]}
            )
    assert result.structured_content["ok"] is True
    assert result.structured_content["operation"] == "edit"


def test_refuses_a_public_bind_without_a_token(output_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: list[tuple[str, int]] = []
    monkeypatch.setattr(
        uvicorn, "run", lambda app, **options: served.append((options["host"], options["port"]))
    )
    no_token = http_settings(output_root, IMAGE_GEN_MCP_AUTH_TOKENS=None)
    for settings in (no_token, http_settings(output_root, IMAGE_GEN_MCP_AUTH_TOKENS=" , ")):
        with pytest.raises(SystemExit, match="IMAGE_GEN_MCP_AUTH_TOKENS"):
            serve_http(settings, "http", EVERYWHERE, 8000, insecure=False)
    assert served == []
    serve_http(no_token, "http", EVERYWHERE, 8000, insecure=True)
    serve_http(http_settings(output_root), "http", EVERYWHERE, 8001, insecure=False)
    serve_http(no_token, "sse", "127.0.0.1", 8002, insecure=False)
    assert served == [(EVERYWHERE, 8000), (EVERYWHERE, 8001), ("127.0.0.1", 8002)]
