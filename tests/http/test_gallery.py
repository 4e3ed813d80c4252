"""The gallery's files as served in process (headers, auth and Host rules) and the REST paging
it relies on; tests/http/test_gallery_browser.py runs the page itself in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import httpx2

from entrypoints.http.gallery import CSP, PATHS
from tests.http.helpers import make_app, serving


async def test_files_are_served_without_a_token_under_a_strict_csp(output_root: Path) -> None:
    async with serving(make_app(output_root)) as client:
        for path in PATHS:
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-security-policy"] == CSP
            assert response.headers["x-content-type-options"] == "nosniff"
        assert CSP.startswith("default-src 'none'") and "'unsafe-inline'" not in CSP
        assert "script-src 'self'" in CSP and "style-src 'self'" in CSP
        page = (await client.get("/gallery")).text
        # No inline code for the CSP to allow: scripts and styles come only from files.
        assert not re.search(r"<script(?![^>]*\bsrc=)", page)
        assert "<style" not in page
        assert not re.search(r"<[^>]*\s(style|on[a-z]+)\s*=", page), "no style or on* attributes"
        assert (await client.get("/gallery/")).headers["location"] == "/gallery"
        # Only the page's files are open: the API and anything else below /gallery need a token.
        assert (await client.get("/gallery/other.js")).status_code == 401
        assert (await client.get("/v1/images")).status_code == 401


async def test_the_page_obeys_the_host_and_origin_rules(output_root: Path) -> None:
    async with serving(make_app(output_root)) as client:
        foreign_host = await client.get("/gallery", headers={"Host": "evil.example"})
        assert foreign_host.status_code == 421
        foreign_origin = await client.get("/gallery/gallery.js", headers={"Origin": "https://evil.example"})
        assert foreign_origin.status_code == 403


async def test_recent_images_page_by_offset(client: httpx2.AsyncClient) -> None:
    ids = [
        (await client.post("/v1/images/generations", json={"prompt": f"p{i}", "provider": "fake"})).json()[
            "images"
        ][0]["id"]
        for i in range(5)
    ]
    newest_first = ids[::-1]
    first = (await client.get("/v1/images", params={"limit": 2})).json()
    assert [i["id"] for i in first["images"]] == newest_first[:2] and first["next_offset"] == 2
    second = (await client.get("/v1/images", params={"limit": 2, "offset": 2})).json()
    assert [i["id"] for i in second["images"]] == newest_first[2:4] and second["next_offset"] == 4
    last = (await client.get("/v1/images", params={"limit": 2, "offset": 4})).json()
    assert [i["id"] for i in last["images"]] == newest_first[4:] and "next_offset" not in last
    for bad in ("-1", "x", "1001"):
        refused = await client.get("/v1/images", params={"offset": bad})
        assert refused.status_code == 422 and refused.json()["details"]["option"] == "offset"
