"""A loopback server that answers the OpenAI Images API like the vendor, instantly or after a
set latency, with a PNG of the requested size: photo-like or high-detail (``bench_images.IMAGES``).

Both this server and the older one build the official ``openai`` SDK client, which honours
``OPENAI_BASE_URL``: pointed here, each runs its real OpenAI path end to end over stdio, so the
two are compared on the same work without any network.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench_images import IMAGES

_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


@functools.cache
def _b64_png(image: str, width: int, height: int) -> str:
    return base64.b64encode(IMAGES[image](width, height)).decode("ascii")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    server: FakeOpenAI

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/images/generations"):
            self._reply(
                404, {"error": {"message": f"Unknown path {self.path}", "type": "invalid_request_error"}}
            )
            return
        body: dict[str, Any] = json.loads(raw or b"{}")
        match = _SIZE.match(str(body.get("size") or ""))
        width, height = (int(match[1]), int(match[2])) if match else (1024, 1024)
        n = int(body.get("n") or 1)
        if self.server.latency:
            time.sleep(self.server.latency)  # a thread per request: the waits overlap
        self.server.requests += 1
        self._reply(
            200,
            {
                "created": int(time.time()),
                "data": [{"b64_json": _b64_png(self.server.image, width, height)} for _ in range(n)],
                "size": f"{width}x{height}",
                "quality": "medium",
                "background": body.get("background") or "opaque",  # as asked, as the vendor does
                "output_format": "png",
                "usage": {
                    "input_tokens": 12,
                    "output_tokens": 1056 * n,
                    "total_tokens": 12 + 1056 * n,
                    "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
                },
            },
        )

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_bench_{self.server.requests}")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None


class FakeOpenAI(ThreadingHTTPServer):
    """``with FakeOpenAI(latency=1.0, image="detailed") as vendor: ... vendor.base_url ...``"""

    daemon_threads = True

    def __init__(self, latency: float = 0.0, image: str = "photo") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency = latency
        self.image = image
        self.requests = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
