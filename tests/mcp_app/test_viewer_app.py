"""The MCP App for image results: listed and readable as a ``ui://`` resource, linked from the
two image tools only, and — in headless Chromium, inside a page that plays the host side of
the postMessage bridge — showing real tool results and sending the right tool calls."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastmcp import Client
from playwright.sync_api import Frame, Page, expect

from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from entrypoints.mcp.viewer import VIEWER_URI
from tests.browser import Recorder, chromium
from tests.conftest import make_settings

HARNESS = Path(__file__).with_name("harness.html")
ARGS = {"prompt": "a lighthouse at dusk", "provider": "placeholder", "n": 2, "size": "S"}


def _wire(model: Any) -> Any:
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


async def _real_exchange(output_root: Path) -> dict[str, Any]:
    """What a host would hold: the tools, the app, one call's result, the images' resources."""
    server = build_mcp_server(build_container(make_settings(output_root)))
    async with Client(server) as client:
        tools = {tool.name: _wire(tool) for tool in await client.list_tools()}
        listed = {str(resource.uri): _wire(resource) for resource in await client.list_resources()}
        [app] = await client.read_resource(VIEWER_URI)
        result = _wire(await client.call_tool_mcp("generate_image", ARGS))
        again = _wire(await client.call_tool_mcp("generate_image", {**ARGS, "n": 1}))
        resources: dict[str, list[dict[str, Any]]] = {}
        for image in result["structuredContent"]["images"]:
            for uri in (image["uri"], f"{image['uri']}/preview"):
                resources[uri] = [_wire(item) for item in await client.read_resource(uri)]
    return {
        "tools": tools,
        "listed": listed,
        "app": _wire(app),
        "result": result,
        "again": again,
        "resources": resources,
    }


def test_the_app_is_a_ui_resource_and_only_the_image_tools_link_it(tmp_path: Path) -> None:
    exchange = asyncio.run(_real_exchange(tmp_path))
    resource = exchange["listed"][VIEWER_URI]
    assert resource["mimeType"] == "text/html;profile=mcp-app"
    assert resource["_meta"]["ui"]["csp"] == {"connectDomains": [], "resourceDomains": []}
    app = exchange["app"]
    assert app["mimeType"] == "text/html;profile=mcp-app" and app["text"].startswith("<!doctype html>")
    assert "http://" not in app["text"] and "https://" not in app["text"], "nothing to fetch from anywhere"
    assert "default-src 'none'" in app["text"] and "connect-src 'none'" in app["text"]
    tools = exchange["tools"]
    for name in ("generate_image", "edit_image"):
        assert tools[name]["_meta"]["ui"] == {"resourceUri": VIEWER_URI}
    assert "ui" not in tools["get_model_capabilities"].get("_meta", {})
    # Results are unchanged for hosts without Apps: the usual blocks, no UI payload.
    result = exchange["result"]
    assert [block["type"] for block in result["content"]] == [
        "text",
        "image",
        "resource_link",
        "image",
        "resource_link",
    ]
    assert "ui" not in result.get("_meta", {})


def _app_frame(page: Page) -> Frame:
    frame = page.frame_locator("iframe")
    expect(frame.locator("#images li")).to_have_count(2)
    return next(f for f in page.frames if f != page.main_frame)


def _natural_sizes(frame: Frame) -> list[list[int]]:
    return frame.eval_on_selector_all(
        "#images img",
        "imgs => Promise.all(imgs.map(i => i.decode().catch(() => null).then(() => [i.naturalWidth, i.naturalHeight])))",
    )


def test_the_app_renders_a_result_and_its_buttons_call_the_tools(tmp_path: Path) -> None:
    exchange = asyncio.run(_real_exchange(tmp_path))
    result = exchange["result"]
    ids = [image["id"] for image in result["structuredContent"]["images"]]
    with chromium() as browser:
        page = browser.new_page()
        recorder = Recorder(page)
        page.set_content(HARNESS.read_text())
        page.evaluate(
            "([html, input, result, resources, next]) => startApp(html, 'generate_image', input, result, resources, next)",
            [exchange["app"]["text"], ARGS, result, exchange["resources"], exchange["again"]],
        )
        frame = _app_frame(page)
        app = page.frame_locator("iframe")
        expect(app.locator("#summary")).to_contain_text("2 images · placeholder · placeholder")
        # The previews came inline with the result: decoded, and no read was needed.
        expect(app.locator("#images img[src^='blob:']")).to_have_count(2)
        assert all(w > 0 and h > 0 for w, h in _natural_sizes(frame))
        assert page.evaluate("resourceReads") == []

        # The full image on demand, through the bridge.
        app.locator(f"li[data-id='{ids[0]}'] button", has_text="Full image").click()
        expect(app.locator(f"li[data-id='{ids[0]}'] img[data-full='true']")).to_have_count(1)
        assert page.evaluate("resourceReads") == [f"image://{ids[0]}"]
        assert _natural_sizes(frame)[0] == [1024, 1024]

        # Variations: the same call again; the app then shows what it returned.
        app.get_by_role("button", name="Variations").click()
        expect(app.locator("#images li")).to_have_count(1)
        # Edit with a new prompt, by id (no upload), by keyboard.
        new_id = exchange["again"]["structuredContent"]["images"][0]["id"]
        app.get_by_label("Edit with a new prompt").fill("make it night")
        app.get_by_label("Edit with a new prompt").press("Enter")
        page.wait_for_function("toolCalls.length === 2")
        calls = page.evaluate("toolCalls")
        assert calls[0] == {"name": "generate_image", "arguments": ARGS}
        assert calls[1] == {
            "name": "edit_image",
            "arguments": {
                "prompt": "make it night",
                "images": [f"image://{new_id}"],
                "provider": "placeholder",
                "model": "placeholder",
            },
        }
        events = page.evaluate("appEvents")
        assert events[:2] == ["ui/initialize", "ui/notifications/initialized"]
        assert "ui/notifications/size-changed" in events  # so a host can fit the iframe
        assert recorder.csp_violations() == []
        assert [r.url for r in recorder.requests if r.url.startswith(("http:", "https:"))] == []
