"""The console script's start-up: a bad variable is named in one short line, never echoed."""

from __future__ import annotations

import pytest

from entrypoints.cli import load_settings


def test_invalid_settings_exit_with_one_line_per_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMAGE_GEN_MCP_MAX_N", "99")
    # A value pasted into the wrong variable may be a key: it must not be printed back.
    monkeypatch.setenv("IMAGE_GEN_MCP_TIMEOUT", "sk-pasted-by-mistake")
    with pytest.raises(SystemExit) as exited:
        load_settings()
    assert exited.value.code == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("image-gen-mcp: invalid configuration")
    assert "IMAGE_GEN_MCP_MAX_N: Input should be less than or equal to 10" in message
    assert "IMAGE_GEN_MCP_TIMEOUT: " in message
    assert "sk-pasted-by-mistake" not in message
    assert "Traceback" not in message and len(message.splitlines()) == 3


@pytest.mark.parametrize(
    "tokens",
    ["short-token", "acme=short-token", "Acme=a-long-enough-token-0001", "a/b=a-long-enough-token-0001",
     "a-long-enough-token-0001, b=a-long-enough-token-0001"],
)  # fmt: skip
def test_short_tokens_and_bad_tenants_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tokens: str
) -> None:
    monkeypatch.setenv("IMAGE_GEN_MCP_AUTH_TOKENS", tokens)
    with pytest.raises(SystemExit) as exited:
        load_settings()
    assert exited.value.code == 2
    message = capsys.readouterr().err
    assert "IMAGE_GEN_MCP_AUTH_TOKENS" in message and "Traceback" not in message
    assert "short-token" not in message and "a-long-enough-token-0001" not in message


def test_named_and_bare_tokens_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.settings import parse_auth_tokens

    monkeypatch.setenv("IMAGE_GEN_MCP_AUTH_TOKENS", "acme=acme-token-0123456789, bare-token-0123456789")
    settings = load_settings()
    assert settings.auth_tokens is not None
    assert parse_auth_tokens(settings.auth_tokens.get_secret_value()) == [
        ("acme", "acme-token-0123456789"),
        ("", "bare-token-0123456789"),
    ]
    assert set(settings.secrets()) >= {"acme-token-0123456789", "bare-token-0123456789"}


def test_the_console_script_exits_2_on_a_short_token(tmp_path) -> None:
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    script = shutil.which("image-gen-mcp", path=str(Path(sys.executable).parent))
    assert script
    env = {"PATH": "/usr/bin:/bin", "IMAGE_GEN_MCP_AUTH_TOKENS": "acme=too-short"}
    done = subprocess.run(  # noqa: S603 -- our own console script
        [script, "--transport", "http"], env=env, cwd=tmp_path, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert b"IMAGE_GEN_MCP_AUTH_TOKENS" in done.stderr and b"Traceback" not in done.stderr
    assert b"too-short" not in done.stderr
