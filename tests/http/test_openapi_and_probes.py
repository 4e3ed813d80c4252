"""/openapi.json is a valid OpenAPI 3.1 document that matches the API; /healthz and /readyz."""

from __future__ import annotations

from pathlib import Path

import httpx2
from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts, get_spec_version

from tests.http.helpers import AUTH, make_app, serving


async def test_openapi_document_is_valid_3_1(client: httpx2.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert get_spec_version(document) == consts.OPENAPIV31
    validate(document)  # raises on any violation


async def test_openapi_describes_every_route_and_the_real_rules(client: httpx2.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert set(document["paths"]) == {
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/capabilities",
        "/v1/images",
        "/v1/images/{image_id}",
        "/v1/images/{image_id}/preview",
        "/v1/images/{image_id}/record",
        "/healthz",
        "/readyz",
        "/openai/v1/images/generations",
        "/openai/v1/images/edits",
        "/openai/v1/models",
        "/openai/v1/models/{model}",
    }
    assert document["security"] == [{"bearer": []}]
    assert document["paths"]["/healthz"]["get"]["security"] == []
    generate = document["components"]["schemas"]["GenerateImageRequest"]
    assert generate["required"] == ["prompt"] and generate["additionalProperties"] is False
    provider_enum = generate["properties"]["provider"]["anyOf"][0]["enum"]
    assert {"placeholder", "fake", "openai"} <= set(provider_enum)
    edit = document["components"]["schemas"]["EditImageRequest"]
    assert set(edit["required"]) == {"prompt", "images"}
    responses = document["paths"]["/v1/images/generations"]["post"]["responses"]
    assert {"200", "401", "403", "413", "422", "429", "502", "503", "504"} <= set(responses)
    assert "Retry-After" in responses["429"]["headers"]


async def test_openapi_describes_the_openai_gateway(client: httpx2.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    generation = schemas["GenerationFields"]
    assert generation["required"] == ["prompt"] and generation["additionalProperties"] is False
    assert {"model", "n", "size", "quality", "response_format", "moderation"} <= set(generation["properties"])
    edits = document["paths"]["/openai/v1/images/edits"]["post"]
    assert {"multipart/form-data", "application/json"} == set(edits["requestBody"]["content"])
    responses = edits["responses"]
    assert {"200", "400", "401", "403", "404", "409", "422", "429", "500", "502", "503"} <= set(responses)
    assert responses["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OpenAIErrorBody"
    }
    assert "X-Image-Gen-Adjusted" in responses["200"]["headers"]


async def test_openapi_without_tokens_declares_no_security(output_root: Path) -> None:
    async with serving(make_app(output_root, IMAGE_GEN_MCP_AUTH_TOKENS=None)) as client:
        document = (await client.get("/openapi.json")).json()
    assert "security" not in document
    validate(document)


async def test_liveness_and_readiness(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["store"] == {"ok": True}
    assert ready.json()["checks"]["providers"]["enabled"] >= 1


async def test_not_ready_without_any_provider(output_root: Path) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_PLACEHOLDER=False, IMAGE_GEN_MCP_FAKE_PROVIDER=False)
    async with serving(app) as client:
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
    assert ready.status_code == 503 and ready.json()["checks"]["providers"]["ok"] is False
    assert alive.status_code == 200


async def test_not_ready_when_the_store_cannot_be_created(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    async with serving(make_app(blocked / "images"), headers=AUTH) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["store"]["code"] == "storage_failed"


async def test_ready_on_a_bucket_only_when_the_bucket_answers(output_root: Path, s3_bucket: str) -> None:
    """/readyz lists the bucket (one request): an empty bucket is ready, a missing one is not,
    with the bucket's own reason and never its endpoint or keys."""
    ready_app = make_app(output_root, IMAGE_GEN_MCP_STORE_URL=f"s3://{s3_bucket}/images")
    async with serving(ready_app) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["store"] == {"ok": True}

    missing_app = make_app(output_root, IMAGE_GEN_MCP_STORE_URL="s3://no-such-bucket-here/images")
    async with serving(missing_app) as client:
        missing = await client.get("/readyz")
    assert missing.status_code == 503
    store = missing.json()["checks"]["store"]
    assert store["ok"] is False and store["code"] == "storage_failed" and "NoSuchBucket" in store["message"]
    assert "127.0.0.1" not in missing.text
