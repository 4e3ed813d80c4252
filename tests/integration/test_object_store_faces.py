"""The whole server on an s3:// store (moto's S3 server): MCP results, resources and edits by
id with no local path, the REST bytes, and a bucket that refuses writes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from fastmcp import Client

from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings
from tests.engines import S3Server
from tests.http.helpers import AUTH, make_app, serving


def s3_container(output_root: Path, url: str):
    return build_container(make_settings(output_root, IMAGE_GEN_MCP_STORE_URL=url))


async def test_mcp_results_and_resources_without_a_local_path(
    output_root, s3_server: S3Server, s3_bucket
) -> None:
    container = s3_container(output_root, f"s3://{s3_bucket}/images")
    async with Client(build_mcp_server(container)) as client:  # stdio's server: local paths on
        made = await client.call_tool("generate_image", {"prompt": "a fox", "provider": "fake"})
        record = made.structured_content["images"][0]
        full = await client.read_resource(record["uri"])
        recent = json.loads((await client.read_resource("images://recent"))[0].text)
        edited = await client.call_tool(
            "edit_image", {"prompt": "add a hat", "provider": "fake", "images": [record["uri"]]}
        )
    assert record["saved"] is True and "path" not in record
    assert record["uri"] in made.content[0].text  # the summary names the URI where a path was
    stored = s3_server.client().list_objects_v2(Bucket=s3_bucket, Prefix="images/")["Contents"]
    image_key = next(item["Key"] for item in stored if item["Key"].endswith(f"{record['id']}.png"))
    in_bucket = s3_server.client().get_object(Bucket=s3_bucket, Key=image_key)["Body"].read()
    assert full[0].blob == base64.b64encode(in_bucket).decode()
    assert recent[0]["id"] == record["id"] and "path" not in recent[0]
    assert edited.structured_content["ok"] and edited.structured_content["images"][0]["saved"]
    assert not list(output_root.iterdir())  # nothing went to the local folder


async def test_rest_serves_the_stored_bytes(output_root, s3_server: S3Server, s3_bucket) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_STORE_URL=f"s3://{s3_bucket}")
    async with serving(app, headers=AUTH) as client:
        made = await client.post("/v1/images/generations", json={"prompt": "x", "provider": "fake"})
        image = made.json()["images"][0]
        body = await client.get(image["href"])
        listed = await client.get("/v1/images")
    assert made.status_code == 200 and "path" not in image
    assert body.status_code == 200 and body.headers["content-type"] == "image/png"
    assert [item["id"] for item in listed.json()["images"]] == [image["id"]]
    keys = [item["Key"] for item in s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    image_key = next(key for key in keys if key.endswith(".png"))
    assert body.content == s3_server.client().get_object(Bucket=s3_bucket, Key=image_key)["Body"].read()


async def test_a_refusing_bucket_still_returns_the_image_inline(output_root, s3_bucket) -> None:
    container = s3_container(output_root, "s3://no-such-bucket-here/images")
    async with Client(build_mcp_server(container)) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "provider": "fake", "inline": "none"}
        )
    record = result.structured_content["images"][0]
    assert result.structured_content["ok"] is True
    assert record["saved"] is False and record["inline"] == "full"
    assert record["storage_error"]["code"] == "storage_failed"
    assert record["storage_error"]["details"]["reason"] == "NoSuchBucket"
    assert [block.type for block in result.content].count("image") == 1
