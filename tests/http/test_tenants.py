"""One tenant per token: two tokens never reach each other's images, over REST or MCP-over-HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette

from adapters.png import solid_png
from tests.http.helpers import BASE_URL, make_app, mcp_client_factory, serving

ACME, GLOBEX, BARE = "acme-token-0123456789", "globex-token-0123456789", "bare-token-0123456789"
TOKENS = f"acme={ACME}, globex={GLOBEX}, {BARE}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def mcp_as(app: Starlette, token: str) -> AsyncIterator[Client[Any]]:
    transport = StreamableHttpTransport(
        f"{BASE_URL}/mcp", auth=token, httpx_client_factory=mcp_client_factory(app)
    )
    async with Client(transport) as client:
        yield client


@pytest.fixture
def app(output_root: Path) -> Starlette:
    return make_app(output_root, IMAGE_GEN_MCP_AUTH_TOKENS=TOKENS)


async def test_rest_images_of_one_tenant_are_not_found_by_another(app: Starlette) -> None:
    async with serving(app) as http:
        made = await http.post(
            "/v1/images/generations",
            json={"prompt": "acme launch plan", "provider": "fake"},
            headers=bearer(ACME),
        )
        image_id = made.json()["images"][0]["id"]
        for token in (GLOBEX, BARE):
            for path in (f"/v1/images/{image_id}", f"/v1/images/{image_id}/preview", f"/v1/images/{image_id}/record"):
                response = await http.get(path, headers=bearer(token))
                assert response.status_code == 404 and response.json()["code"] == "image_not_found"
            listing = await http.get("/v1/images", headers=bearer(token))
            assert listing.status_code == 200
            assert image_id not in listing.text and "acme launch plan" not in listing.text
            edit = await http.post(
                "/v1/images/edits",
                json={"prompt": "x", "provider": "fake", "images": [f"image://{image_id}"]},
                headers=bearer(token),
            )
            assert edit.json()["code"] == "image_not_found"
        # The owner still has it all.
        assert (await http.get(f"/v1/images/{image_id}", headers=bearer(ACME))).status_code == 200
        own = await http.get("/v1/images", headers=bearer(ACME))
        assert [i["id"] for i in own.json()["images"]] == [image_id]


async def test_mcp_images_of_one_tenant_are_not_found_by_another(app: Starlette) -> None:
    async with serving(app):
        async with mcp_as(app, ACME) as acme:
            made = await acme.call_tool("generate_image", {"prompt": "acme board memo", "provider": "fake"})
            image_id = made.structured_content["images"][0]["id"]
            assert (await acme.read_resource(f"image://{image_id}"))[0].blob
        for token in (GLOBEX, BARE):
            async with mcp_as(app, token) as other:
                for uri in (f"image://{image_id}", f"image://{image_id}/preview"):
                    with pytest.raises(MCPError):
                        await other.read_resource(uri)
                recent = (await other.read_resource("images://recent"))[0].text
                assert image_id not in recent and "acme board memo" not in recent
                edit = await other.call_tool(
                    "edit_image",
                    {"prompt": "x", "provider": "fake", "images": [f"image://{image_id}"]},
                    raise_on_error=False,
                )
                assert edit.is_error and edit.structured_content["code"] == "image_not_found"
        async with mcp_as(app, ACME) as acme:
            recent = json.loads((await acme.read_resource("images://recent"))[0].text)
            assert [r["id"] for r in recent] == [image_id]


async def test_tenant_images_live_in_the_tenant_folder_and_bare_tokens_in_the_root(
    app: Starlette, output_root: Path
) -> None:
    async with serving(app) as http:
        for token in (ACME, BARE):
            await http.post(
                "/v1/images/generations", json={"prompt": "p", "provider": "fake"}, headers=bearer(token)
            )
    assert len(list((output_root / "tenants" / "acme" / ".image-gen-mcp" / "index").iterdir())) == 1
    assert len(list((output_root / ".image-gen-mcp" / "index").iterdir())) == 1
    assert not (output_root / "tenants" / "globex").exists()


async def test_a_tenant_cannot_write_into_another_through_directory(
    app: Starlette, output_root: Path
) -> None:
    async with serving(app) as http:
        for token, directory in (
            (BARE, "tenants/acme"),
            (GLOBEX, "../acme"),
            (BARE, str(output_root / "tenants")),
        ):
            response = await http.post(
                "/v1/images/generations",
                json={"prompt": "p", "provider": "fake", "directory": directory},
                headers=bearer(token),
            )
            assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    assert not (output_root / "tenants" / "acme").exists()


# -- local input files over HTTP -----------------------------------------------------------


@pytest.mark.parametrize("remote_allowed", [False, True])
async def test_local_paths_over_http_need_the_operator_opt_in(
    output_root: Path, tmp_path: Path, remote_allowed: bool
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "ok.png").write_bytes(solid_png(16, 16))
    app = make_app(
        output_root,
        IMAGE_GEN_MCP_AUTH_TOKENS=TOKENS,
        IMAGE_GEN_MCP_LOCAL_INPUT_DIR=str(inputs),
        IMAGE_GEN_MCP_LOCAL_INPUT_REMOTE=remote_allowed,
    )
    body = {"prompt": "x", "provider": "fake", "images": [str(inputs / "ok.png")]}
    async with serving(app) as http:
        rest = await http.post("/v1/images/edits", json=body, headers=bearer(ACME))
        async with mcp_as(app, ACME) as mcp:
            tool = await mcp.call_tool("edit_image", body, raise_on_error=False)
    if remote_allowed:
        assert rest.status_code == 200 and not tool.is_error
    else:
        assert rest.status_code == 422 and "local files are not read" in rest.json()["message"]
        assert tool.is_error and "local files are not read" in tool.structured_content["message"]


async def test_the_http_store_refuses_calls_outside_an_authenticated_request(app: Starlette) -> None:
    """Fail closed: were a handler ever run outside its request's context, it would get an
    error, not the unnamed tenant's images."""
    from domain.errors import InternalError

    container = app.state.container
    with pytest.raises(InternalError):
        await container.store().list_recent(5)
    async with serving(app) as http:  # inside requests all is well
        assert (await http.get("/v1/images", headers=bearer(ACME))).status_code == 200
        assert (await http.get("/readyz")).status_code == 200


async def test_the_openai_gateway_keeps_tenants_apart(app: Starlette) -> None:
    from tests.http.helpers import sdk

    async with sdk(app, api_key=ACME) as (acme, _), sdk(app, api_key=GLOBEX) as (globex, http):
        made = await acme.images.generate(model="fake/fake-flex", prompt="acme gateway secret", response_format="url")
        url = made.data[0].url
        assert url and "/v1/images/" in url
        image_id = url.rsplit("/", 1)[-1]
        # Another tenant's token cannot fetch the link, edit by its id, or see it listed.
        fetched = await http.get(f"/v1/images/{image_id}", headers=bearer(GLOBEX))
        assert fetched.status_code == 404
        edit = await http.post(
            "/openai/v1/images/edits",
            json={"prompt": "x", "model": "fake/fake-flex", "images": [f"image://{image_id}"]},
            headers=bearer(GLOBEX),
        )
        assert edit.status_code == 404 and edit.json()["error"]["code"] == "image_not_found"
        # The SDK's own edits reach only the caller's images too: acme may edit it.
        mine = await acme.images.edit(image=("a.png", solid_png(8, 8), "image/png"), prompt="y", model="fake/fake-flex")
        assert mine.data
        listing = await http.get("/v1/images", headers=bearer(GLOBEX))
        assert image_id not in listing.text and "acme gateway secret" not in listing.text
        assert (await http.get(f"/v1/images/{image_id}", headers=bearer(ACME))).status_code == 200
        theirs = await globex.images.generate(model="fake/fake-flex", prompt="globex plan", response_format="url")
        acme_listing = (await http.get("/v1/images", headers=bearer(ACME))).text
        assert theirs.data[0].url.rsplit("/", 1)[-1] not in acme_listing and "globex plan" not in acme_listing


@asynccontextmanager
async def tasks_as(app: Starlette, token: str) -> AsyncIterator[Client[Any]]:
    from tests.task_clients import TaskClient

    transport = StreamableHttpTransport(f"{BASE_URL}/mcp", auth=token, httpx_client_factory=mcp_client_factory(app))
    async with TaskClient(transport) as client:
        yield client


async def check_task_ids_stay_with_their_tenant(app: Starlette) -> None:
    """Another tenant polling, fetching or cancelling a task id gets what an id that does not
    exist gets; the tenant that started it sees it through."""
    from fastmcp_tasks import ToolTask, call_tool_task

    call = {"prompt": "acme launch plan", "provider": "fake", "model": "fake-single"}
    async with serving(app), tasks_as(app, ACME) as acme, tasks_as(app, GLOBEX) as globex:
        task = await call_tool_task(acme, "generate_image", call)
        for other in (globex,):
            theirs = ToolTask(other, "generate_image", task.create_result)
            with pytest.raises(MCPError) as refused:
                await theirs.status()
            made_up = "f" * len(task.task_id)
            unknown = ToolTask(other, "generate_image", task.create_result.model_copy(update={"task_id": made_up}))
            with pytest.raises(MCPError) as missing:
                await unknown.status()
            assert str(refused.value) == str(missing.value).replace(made_up, task.task_id)
            with pytest.raises(MCPError):
                await theirs.cancel()
        result = await task.result()
    assert result.structured_content["ok"] is True


async def test_task_ids_of_one_tenant_are_not_found_by_another(app: Starlette) -> None:
    await check_task_ids_stay_with_their_tenant(app)


async def test_task_ids_of_one_tenant_are_not_found_by_another_on_redis(output_root: Path, redis_url: str) -> None:
    shared = make_app(output_root, IMAGE_GEN_MCP_AUTH_TOKENS=TOKENS, IMAGE_GEN_MCP_REDIS_URL=redis_url)
    await check_task_ids_stay_with_their_tenant(shared)
