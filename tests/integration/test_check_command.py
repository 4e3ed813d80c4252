"""``image-gen-mcp check`` against loopback vendors that answer, refuse (401) and are down."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from entrypoints.cli import main
from tests.adapters.google_fakes import ACCESS_TOKEN, JsonHandler, TokenServer, write_service_account

KEYS = {"openai": "sk-good-openai", "azure": "az-good", "gemini": "gm-good", "openrouter": "or-good"}


@contextmanager
def vendor(refuse: bool) -> Iterator[tuple[str, list[str]]]:
    """One loopback server standing in for every vendor: GETs (listings) answer 200 with an
    empty list when a good credential is sent, 401 otherwise; anything else is 405, so a
    paid call would show."""
    seen: list[str] = []
    good = {f"Bearer {KEYS['openai']}", f"Bearer {KEYS['openrouter']}", f"Bearer {ACCESS_TOKEN}"}

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            seen.append(f"GET {self.path}")
            ok = (
                self.headers.get("Authorization") in good
                or self.headers.get("api-key") == KEYS["azure"]
                or self.headers.get("x-goog-api-key") == KEYS["gemini"]
            )
            if ok and not refuse:
                self._send(200, {"object": "list", "data": [], "models": []})
            else:
                self._send(401, {"error": {"message": "Incorrect API key provided", "code": 401}})

        def do_POST(self) -> None:
            seen.append(f"POST {self.path}")
            self._send(405, {"error": {"message": "no generations in a check"}})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def configure(monkeypatch: pytest.MonkeyPatch, base: str, tmp_path: Path, token_server: TokenServer) -> None:
    env = {
        "OPENAI_API_KEY": KEYS["openai"], "OPENAI_BASE_URL": f"{base}/v1",
        "AZURE_OPENAI_API_KEY": KEYS["azure"], "AZURE_OPENAI_ENDPOINT": base,
        "GEMINI_API_KEY": KEYS["gemini"], "GOOGLE_GEMINI_BASE_URL": base,
        "VERTEX_PROJECT": "test-project", "GOOGLE_VERTEX_BASE_URL": base,
        "VERTEX_CREDENTIALS_PATH": str(write_service_account(tmp_path, token_server.url)),
        "OPENROUTER_API_KEY": KEYS["openrouter"], "OPENROUTER_BASE_URL": f"{base}/api/v1",
        "IMAGE_GEN_MCP_OUTPUT_DIR": str(tmp_path / "out"),
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def run(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    with pytest.raises(SystemExit) as exited:
        main(["check"])
    out = capsys.readouterr().out
    rows = dict(line.split(None, 1) for line in out.splitlines()[1:])
    return int(exited.value.code or 0), rows


VENDORS = ("openai", "azure", "gemini", "vertex", "openrouter")


def test_every_vendor_that_answers_is_ok_and_nothing_is_paid_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token_server: TokenServer, capsys
) -> None:
    with vendor(refuse=False) as (base, seen):
        configure(monkeypatch, base, tmp_path, token_server)
        status, rows = run(capsys)
    assert status == 0, rows
    assert {name: rows[name] for name in VENDORS} == dict.fromkeys(VENDORS, "ok")
    assert rows["placeholder"] == "ok"
    assert seen and all(line.startswith("GET ") for line in seen)


def test_refused_credentials_are_auth_failed_with_the_variable_and_no_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token_server: TokenServer, capsys
) -> None:
    with vendor(refuse=True) as (base, _):
        configure(monkeypatch, base, tmp_path, token_server)
        status, rows = run(capsys)
    assert status == 1
    for name in VENDORS:
        assert rows[name].startswith("auth_failed: "), (name, rows[name])
    assert "OPENAI_API_KEY" in rows["openai"] and "OPENROUTER_API_KEY" in rows["openrouter"]
    assert not any(key in " ".join(rows.values()) for key in KEYS.values())


def test_a_vendor_that_is_down_is_a_network_error_naming_host_and_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token_server: TokenServer, capsys
) -> None:
    down = closed_port_url()
    configure(monkeypatch, down, tmp_path, token_server)
    status, rows = run(capsys)
    assert status == 1
    host = down.removeprefix("http://")
    for name, variable in (
        ("openai", "OPENAI_BASE_URL"), ("azure", "AZURE_OPENAI_ENDPOINT"),
        ("gemini", "GOOGLE_GEMINI_BASE_URL"), ("vertex", "GOOGLE_VERTEX_BASE_URL"),
        ("openrouter", "OPENROUTER_BASE_URL"),
    ):  # fmt: skip
        assert rows[name].startswith("network_error: "), (name, rows[name])
        assert host in rows[name] and variable in rows[name], rows[name]


def test_check_refuses_bad_settings_before_probing(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("IMAGE_GEN_MCP_DEFAULT_PROVIDER", "gemni")
    with pytest.raises(SystemExit) as exited:
        main(["check"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "IMAGE_GEN_MCP_DEFAULT_PROVIDER: unknown provider 'gemni'" in err
