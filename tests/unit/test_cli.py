"""The console script's start-up: a bad variable is named in one short line, never echoed."""

from __future__ import annotations

import pytest

from entrypoints.cli import load_settings


def test_invalid_settings_exit_with_one_line_per_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_GEN_MCP_MAX_N", "99")
    # A value pasted into the wrong variable may be a key: it must not be printed back.
    monkeypatch.setenv("IMAGE_GEN_MCP_TIMEOUT", "sk-pasted-by-mistake")
    with pytest.raises(SystemExit) as exited:
        load_settings()
    message = str(exited.value.code)
    assert message.startswith("image-gen-mcp: invalid configuration")
    assert "IMAGE_GEN_MCP_MAX_N: Input should be less than or equal to 10" in message
    assert "IMAGE_GEN_MCP_TIMEOUT: " in message
    assert "sk-pasted-by-mistake" not in message
    assert "Traceback" not in message and len(message.splitlines()) == 3
