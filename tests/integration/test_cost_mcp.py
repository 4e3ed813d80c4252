"""The cost in results and the spending caps through the container built from settings, the
MCP tools and the REST API, with the official SDK talking HTTP to a loopback fake OpenAI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from adapters.providers.prices import GPT_IMAGE_1_MINI
from entrypoints.container import build_container
from entrypoints.http.app import build_http_app
from tests.adapters.openai_fake import FakeImagesAPI
from tests.conftest import make_settings
from tests.integration.test_openai_mcp import KEY, LoopbackVendor, run_tool


@pytest.fixture
def openai_vendor() -> Iterator[LoopbackVendor]:
    with LoopbackVendor(FakeImagesAPI("openai", scale=1)) as vendor:
        yield vendor


MINI = {"prompt": "a lighthouse", "provider": "openai", "model": "gpt-image-1-mini", "quality": "high"}


async def test_the_result_says_what_the_call_cost(output_root: Path, openai_vendor: LoopbackVendor) -> None:
    settings = make_settings(output_root, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{openai_vendor.url}/v1")
    result = await run_tool(settings, "generate_image", MINI)
    usage = result.structured_content["usage"]
    expected = (
        usage["input_tokens"] * GPT_IMAGE_1_MINI.input_per_mtok
        + usage["output_tokens"] * GPT_IMAGE_1_MINI.output_per_mtok
    ) / 1e6
    assert usage["cost_usd"] == round(expected, 6) and usage["cost_source"] == "estimate"
    free = await run_tool(settings, "generate_image", {"prompt": "x", "provider": "placeholder"})
    assert free.structured_content["usage"] == {"cost_usd": 0.0, "cost_source": "free"}


async def test_the_per_call_cap_refuses_over_mcp_before_the_vendor(
    output_root: Path, openai_vendor: LoopbackVendor
) -> None:
    settings = make_settings(
        output_root,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=f"{openai_vendor.url}/v1",
        IMAGE_GEN_MCP_MAX_COST_PER_CALL=0.01,
    )
    result = await run_tool(settings, "generate_image", MINI)
    assert result.is_error and result.structured_content["code"] == "budget_exceeded"
    assert "budget_exceeded" in result.content[0].text
    assert (
        result.structured_content["details"]["estimate_usd"] == GPT_IMAGE_1_MINI.per_image["high/1024x1024"]
    )
    assert openai_vendor.fake.seen == []


def test_the_daily_budget_answers_402_on_rest(output_root: Path, openai_vendor: LoopbackVendor) -> None:
    token = "acme=" + "t" * 32
    settings = make_settings(
        output_root, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{openai_vendor.url}/v1",
        IMAGE_GEN_MCP_DAILY_BUDGET=0.05, IMAGE_GEN_MCP_AUTH_TOKENS=token,
    )  # fmt: skip
    app = build_http_app(build_container(settings))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        auth = {"Authorization": "Bearer " + "t" * 32}
        first = client.post("/v1/images/generations", json=MINI, headers=auth)
        assert first.status_code == 200, first.text
        second = client.post("/v1/images/generations", json=MINI, headers=auth)
    assert second.status_code == 402 and second.json()["code"] == "budget_exceeded"
    assert second.json()["details"]["scope"] == "daily"
    assert len(openai_vendor.fake.seen) == 1


def test_the_gateway_answers_the_per_call_cap_as_openai_answers_its_spending_limits(
    output_root: Path, openai_vendor: LoopbackVendor
) -> None:
    token = "g" * 32
    settings = make_settings(
        output_root, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{openai_vendor.url}/v1",
        IMAGE_GEN_MCP_MAX_COST_PER_CALL=0.01, IMAGE_GEN_MCP_AUTH_TOKENS=token,
    )  # fmt: skip
    body = {
        "model": "openai/gpt-image-1-mini",
        "prompt": "a lighthouse",
        "quality": "high",
        "size": "1024x1024",
    }
    with TestClient(build_http_app(build_container(settings)), base_url="http://127.0.0.1") as client:
        refused = client.post(
            "/openai/v1/images/generations", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert refused.status_code == 429 and refused.headers["x-should-retry"] == "false"
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert openai_vendor.fake.seen == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("IMAGE_GEN_MCP_MAX_COST_PER_CALL", 0),
        ("IMAGE_GEN_MCP_MAX_COST_PER_CALL", -1),
        ("IMAGE_GEN_MCP_DAILY_BUDGET", -0.5),
    ],
)
def test_a_cap_out_of_range_stops_start_up_naming_the_variable(
    output_root: Path, variable: str, value: float
) -> None:
    with pytest.raises(ValidationError, match=variable):
        make_settings(output_root, **{variable: value})
