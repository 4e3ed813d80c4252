"""No configured key or token appears in any tool result, error payload or log line, even when
a vendor (here the fake, scripted) puts the key into its error message and details."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from fastmcp import Client

from adapters.png import solid_png
from domain.errors import ContentBlocked, ProviderUnavailable, RateLimited
from entrypoints import log_redaction
from entrypoints.cli import configure_logging
from entrypoints.container import build_container, shutdown
from entrypoints.mcp.error_payload import error_payload
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings

KEYS = {
    "OPENAI_API_KEY": "sk-test-OPENAIKEY0123456789abcdef",
    "GEMINI_API_KEY": "AIzaTestGEMINIKEY0123456789",
    "OPENROUTER_API_KEY": "sk-or-v1-OPENROUTERKEY0123456789",
    "AZURE_OPENAI_API_KEY": "azureTESTKEY0123456789abcdef",
    "IMAGE_GEN_MCP_AUTH_TOKENS": "tokenONE0123456789, tokenTWO0123456789",
}
SECRETS = [v for v in KEYS.values() if "," not in v] + ["tokenONE0123456789", "tokenTWO0123456789"]
DEAD = "http://127.0.0.1:9"  # nothing listens: every real adapter fails at once, offline


@pytest.fixture
def redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Install redaction the way the CLI does, and undo the global logging change after."""
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())
    monkeypatch.setattr(log_redaction, "_installed", False)


@pytest.fixture
def settings(output_root: Path, redaction: None):
    values = {
        **KEYS,
        "AZURE_OPENAI_ENDPOINT": DEAD,
        "OPENAI_BASE_URL": DEAD + "/v1",
        "GOOGLE_GEMINI_BASE_URL": DEAD,
        "OPENROUTER_BASE_URL": DEAD + "/api/v1",
        "IMAGE_GEN_MCP_RETRIES": 1,
        "IMAGE_GEN_MCP_TIMEOUT": 5,
        "IMAGE_GEN_MCP_LOG_LEVEL": "DEBUG",
    }
    settings = make_settings(output_root, **values)
    assert sorted(settings.secrets()) == sorted(SECRETS)
    configure_logging(settings)
    return settings


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def dump(result) -> str:
    blocks = [getattr(b, "text", "") or getattr(b, "data", "") or str(b) for b in result.content]
    return json.dumps(result.structured_content, default=str) + "\n".join(blocks)


async def test_no_key_in_results_errors_or_logs(settings, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    key = KEYS["OPENAI_API_KEY"]
    container = build_container(settings)
    fake = container.fake()
    fake.fail_next(
        ProviderUnavailable(f"upstream said: invalid key {key}", status=503, body=f'{{"key":"{key}"}}'),
        RateLimited(f"Bearer {KEYS['GEMINI_API_KEY']} is rate limited", headers={"x-api-key": key}),
        ContentBlocked(f"blocked for {KEYS['OPENROUTER_API_KEY']}", reason=[f"k={key}"]),
        RuntimeError(f"an adapter bug that prints {KEYS['AZURE_OPENAI_API_KEY']}"),  # type: ignore[arg-type]
    )
    png = "data:image/png;base64," + base64.b64encode(solid_png(8, 8)).decode()
    calls = [
        ("generate_image", {"prompt": "x", "provider": "fake"}),  # 503 with the key (retries: 1)
        ("generate_image", {"prompt": "x", "provider": "fake"}),  # 429 with the key
        ("edit_image", {"prompt": "x", "provider": "fake", "images": [png]}),  # blocked
        ("generate_image", {"prompt": "x", "provider": "fake"}),  # unexpected exception
        ("generate_image", {"prompt": "x", "provider": "fake"}),  # success
        ("generate_image", {"prompt": f"a poster reading {key[:6]}", "provider": "fake"}),
        ("edit_image", {"prompt": "x", "images": [f"https://10.0.0.1/a.png?key={key}"]}),  # no DNS
        ("edit_image", {"prompt": "x", "images": [f"{key}"]}),
        ("edit_image", {"prompt": "x", "images": [png], "mask": f"file:///{key}"}),
        ("get_model_capabilities", {}),
        ("get_model_capabilities", {"provider": "nope"}),
        ("generate_image", {"prompt": "x", "provider": "fake", "directory": f"../{key}"}),
    ]
    registry = container.registry()
    for vendor in ("openai", "azure", "gemini", "openrouter"):
        if vendor in registry.enabled:  # real adapters against a dead port: network errors
            calls.append(("generate_image", {"prompt": "x", "provider": vendor}))
    results = []
    async with Client(build_mcp_server(container)) as client:
        for tool, arguments in calls:
            results.append(await client.call_tool(tool, arguments, raise_on_error=False))
    await shutdown(container)

    assert [r.is_error for r in results[:5]] == [True, True, True, True, False]
    assert [r.structured_content["code"] for r in results[:4]] == [
        "provider_unavailable", "rate_limited", "content_blocked", "internal",
    ]  # fmt: skip
    assert "[REDACTED]" in results[0].structured_content["message"]
    for result in results:
        assert leaks(dump(result)) == [], dump(result)[:500]
    logged = caplog.text + "\n".join((r.getMessage() + (r.exc_text or "")) for r in caplog.records)
    assert "adapter bug" in logged  # the unexpected error was logged, with its text masked
    assert leaks(logged) == []
    captured = capsys.readouterr()
    assert leaks(captured.out + captured.err) == []


async def test_no_key_in_a_partial_fan_out_failure(settings) -> None:
    key = KEYS["OPENAI_API_KEY"]
    container = build_container(settings)
    container.fake().fail_next(None, ProviderUnavailable(f"one of the fan-out calls failed with {key}"))
    async with Client(build_mcp_server(container)) as client:
        result = await client.call_tool(
            "generate_image",
            {"prompt": "x", "provider": "fake", "model": "fake-single", "n": 2},
            raise_on_error=False,
        )
    assert result.structured_content["ok"] is True and result.structured_content["image_count"] == 1
    assert leaks(dump(result)) == []


def test_error_payload_masks_secrets_anywhere(settings) -> None:
    key = KEYS["GEMINI_API_KEY"]
    payload = error_payload(
        ProviderUnavailable(f"x {key} y", nested={"list": [key, {"k": f"Bearer {key}"}]}, **{key: 1})
    )
    assert leaks(json.dumps(payload)) == []
    assert payload["details"]["nested"]["list"][0] == "[REDACTED]"


def test_log_filter_masks_messages_arguments_and_tracebacks(settings, caplog) -> None:
    key = KEYS["OPENROUTER_API_KEY"]
    log = logging.getLogger("some.sdk")
    with caplog.at_level(logging.DEBUG):
        log.info("request headers: %s", {"Authorization": f"Bearer {key}"})
        log.warning(f"plain {key}")
        try:
            raise ValueError(f"bad key {key}")
        except ValueError:
            log.exception("call failed")
    assert len(caplog.records) == 3
    formatted = "\n".join(logging.Formatter("%(message)s").format(r) for r in caplog.records)
    assert leaks(formatted) == [] and leaks(caplog.text) == []
    assert "call failed" in formatted and "ValueError: bad key [REDACTED]" in formatted


def test_redacted_uvicorn_access_lines_keep_their_format(redaction: None) -> None:
    # uvicorn's AccessFormatter unpacks record.args; a filter that flattened them to None made
    # every access line carrying a secret (e.g. a token pasted into a query string) a logging
    # error instead of a masked line.
    from uvicorn.logging import AccessFormatter

    log_redaction.register_secrets(["tokenONE0123456789"])
    log_redaction.install_redaction()
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/images?token=tokenONE0123456789", "1.1", 401), None,
    )  # fmt: skip
    line = AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s', use_colors=False).format(
        record
    )
    assert line == '127.0.0.1:5000 "GET /v1/images?token=[REDACTED] HTTP/1.1" 401 Unauthorized'
