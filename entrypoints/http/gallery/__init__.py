"""The gallery page at ``/gallery``: static HTML, script and style shipped in this package.

The page itself holds no data, so its three files are served without a token (a browser cannot
send one on a plain navigation); its script asks for the token once, keeps it in
``sessionStorage`` and reads ``/v1/images…`` with ``Authorization: Bearer`` like any REST
client, so tenants, tokens and the Host/Origin guard apply unchanged. The Content-Security-Policy
allows only this server's own script and style (no inline code) and images from ``blob:``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

PREFIX = "/gallery"
_FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "/gallery.js": ("gallery.js", "text/javascript; charset=utf-8"),
    "/gallery.css": ("gallery.css", "text/css; charset=utf-8"),
}
# The paths BearerAuth lets through without a token: exactly these files, nothing below them.
PATHS = tuple(PREFIX + suffix for suffix in _FILES)

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Small files that change with the server version; revalidating is cheap.
    "Cache-Control": "no-cache",
}


def _load() -> dict[str, tuple[bytes, str]]:
    static = files(__package__).joinpath("static")
    return {
        PREFIX + suffix: (static.joinpath(name).read_bytes(), media)
        for suffix, (name, media) in _FILES.items()
    }


def gallery_routes() -> list[BaseRoute]:
    """Routes for the page and its two assets (read once, when the app is built)."""

    def endpoint(body: bytes, media: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            return Response(body, media_type=media, headers=HEADERS)

        return serve

    async def slash(request: Request) -> Response:
        return RedirectResponse(PREFIX, status_code=308)

    routes: list[BaseRoute] = [
        Route(path, endpoint(body, media), methods=["GET", "HEAD"]) for path, (body, media) in _load().items()
    ]
    routes.append(Route(PREFIX + "/", slash, methods=["GET", "HEAD"]))
    return routes
