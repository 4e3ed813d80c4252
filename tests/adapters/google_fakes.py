"""Wire-level fakes of the Gemini API, Vertex AI and Google's OAuth token endpoint.

``FakeGoogle`` is an ``httpx2.MockTransport`` handler answering like the REST APIs (camelCase
JSON, ``{"error": {code, message, status, details}}`` bodies) and recording every request.
``running_token_server`` is a loopback HTTP server for the OAuth exchange, because google-auth
refreshes service-account tokens over ``requests``, not through the SDK's httpx client.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx2

from adapters.png import solid_png
from tests.adapters.google_rules import refusal

GEMINI_HOST = "https://generativelanguage.googleapis.com"
VERTEX_HOST = "https://aiplatform.googleapis.com"
ACCESS_TOKEN = "ya29.fake-token-from-the-test-endpoint"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_for_ratio(ratio: str, long_edge: int = 48) -> bytes:
    """A real PNG whose shape follows ``ratio``, so tests can see the ratio that was asked."""
    w, h = (float(x) for x in ratio.split(":"))
    scale = long_edge / max(w, h)
    return solid_png(max(1, round(w * scale)), max(1, round(h * scale)))


def image_part(data: bytes, mime: str = "image/png", **extra: Any) -> dict[str, Any]:
    return {"inlineData": {"mimeType": mime, "data": b64(data)}, **extra}


def content_answer(*parts: dict[str, Any], finish: str = "STOP", **extra: Any) -> httpx2.Response:
    body = {
        "candidates": [{"content": {"role": "model", "parts": list(parts)}, "finishReason": finish, **extra}],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1120, "totalTokenCount": 1132},
        "modelVersion": "fake-model-version",
        "responseId": "resp-1",
    }
    return httpx2.Response(200, json=body)


def error_answer(
    code: int, status: str, message: str, *details: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx2.Response:
    error = {"code": code, "message": message, "status": status, "details": list(details)}
    return httpx2.Response(code, json={"error": error}, headers=headers)


def error_info(reason: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    }


def retry_info(delay: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


def quota_failure(quota_id: str, value: str = "10") -> dict[str, Any]:
    violation = {
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
        "quotaId": quota_id,
        "quotaValue": value,
    }
    return {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]}


def failure_answers(vertex: bool) -> dict[str, httpx2.Response | Exception]:
    """One vendor answer per failure kind, the way each vendor sends it."""
    bad_key = (
        error_answer(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if vertex
        else error_answer(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            error_info("API_KEY_INVALID"),
        )
    )
    return {
        "auth_failed": bad_key,
        "permission_denied": error_answer(
            403, "PERMISSION_DENIED", "Permission denied on resource project p."
        ),
        "model_not_found": error_answer(404, "NOT_FOUND", "models/x is not found for API version v1."),
        "rate_limited": error_answer(
            429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", retry_info("7s")
        ),
        "quota_exhausted": error_answer(
            429,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
            quota_failure("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "0"),
            retry_info("33s"),
        ),
        "content_blocked": httpx2.Response(
            200, json={"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "modelVersion": "m"}
        ),
        "provider_unavailable": error_answer(
            503, "UNAVAILABLE", "The model is overloaded. Please try again later."
        ),
        "timeout": httpx2.ReadTimeout("timed out"),
        "network_error": httpx2.ConnectError("[Errno 111] Connection refused"),
        "no_image": content_answer({"text": "I can only describe that scene."}),
        "invalid_request": error_answer(400, "INVALID_ARGUMENT", "Unsupported aspect ratio: 7:3."),
    }


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    url: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeGoogle:
    """Answers generateContent and predict like Google does, refusing with Google's 400 the bodies
    that break a documented rule (``google_rules``); ``script`` overrides the next answers."""

    seen: list[Seen] = field(default_factory=list)
    script: deque[httpx2.Response | Exception] = field(default_factory=deque)

    def answer(self, *answers: httpx2.Response | Exception) -> FakeGoogle:
        self.script.extend(answers)
        return self

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else {}
        self.seen.append(
            Seen(request.method, str(request.url), request.url.path, dict(request.headers), body)
        )
        # Vertex paths name the project; the Gemini API's do not. A body that breaks a rule
        # never reaches a scripted answer, so scripted tests send valid bodies too.
        refused = refusal(request.url.path, body, vertex="/projects/" in request.url.path)
        if refused is not None:
            return error_answer(400, "INVALID_ARGUMENT", refused)
        if self.script:
            answer = self.script.popleft()
            if isinstance(answer, Exception):
                raise answer
            return answer
        if request.url.path.endswith(":generateContent"):
            ratio = body.get("generationConfig", {}).get("imageConfig", {}).get("aspectRatio", "1:1")
            return content_answer({"text": "draft", "thought": True}, image_part(png_for_ratio(ratio)))
        if request.url.path.endswith(":predict"):
            parameters = body.get("parameters", {})
            png = png_for_ratio(parameters.get("aspectRatio", "1:1"))
            count = int(parameters.get("sampleCount", 1))
            return httpx2.Response(
                200, json={"predictions": [{"bytesBase64Encoded": b64(png), "mimeType": "image/png"}] * count}
            )
        return error_answer(404, "NOT_FOUND", f"no route {request.url.path}")

    @property
    def last(self) -> Seen:
        return self.seen[-1]


# -- OAuth: a service-account key made in the test and a token endpoint on loopback -----------


@functools.cache
def _rsa_private_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_service_account(directory: Path, token_uri: str) -> Path:
    path = directory / "service-account.json"
    info = {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "key-1",
        "private_key": _rsa_private_pem().decode(),
        "client_email": "image-gen@test-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return path


def verify_assertion(assertion: str) -> dict[str, Any]:
    """Check the JWT's RS256 signature against the test key and return its claims."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    def decode(segment: str) -> bytes:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))

    header, payload, signature = assertion.split(".")
    public = serialization.load_pem_private_key(_rsa_private_pem(), password=None).public_key()
    public.verify(decode(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
    return json.loads(decode(payload))


class JsonHandler(BaseHTTPRequestHandler):
    """A loopback handler that answers JSON and logs nothing (keeps test output clean)."""

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@dataclass
class TokenServer:
    url: str
    exchanges: list[dict[str, Any]]
    fail_with: dict[str, Any] | None = None


@contextmanager
def running_token_server() -> Iterator[TokenServer]:
    """``POST /token`` answers a JWT-bearer grant with ``ACCESS_TOKEN`` after checking the signature."""
    state = TokenServer(url="", exchanges=[])

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            claims = verify_assertion(form["assertion"][0])
            state.exchanges.append({"grant_type": form["grant_type"][0], "claims": claims})
            if state.fail_with is not None:
                self._send(400, state.fail_with)
            else:
                self._send(200, {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown() waits for it, and the default 0.5 s adds up across tests.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/token"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
