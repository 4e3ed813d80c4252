from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from entrypoints.container import Container, build_container
from entrypoints.settings import Settings

# The real engines (redis-server, moto's S3 server) as fixtures, for every test package.
from tests.engines import redis_server, redis_url, s3_bucket, s3_server, shared_redis  # noqa: F401

if TYPE_CHECKING:
    from tests.adapters.google_fakes import TokenServer

# Variables the server reads; cleared for every test so a developer's own keys never leak in.
# AWS_ too: a test must never reach a real bucket with a developer's credentials.
_PREFIXES = (
    "IMAGE_GEN_MCP_",
    "OPENAI_",
    "AZURE_OPENAI_",
    "GEMINI_",
    "GOOGLE_",
    "VERTEX_",
    "OPENROUTER_",
    "AWS_",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file is read


@pytest.fixture(autouse=True)
def clients_without_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    # fastmcp's Client declares the tasks extension once fastmcp_tasks is imported; the tests
    # written for the blocking call keep it, and task tests use tests.task_clients.TaskClient.
    from fastmcp import Client

    monkeypatch.setattr(Client, "_auto_internal_extensions", False)


@pytest.fixture
def output_root(tmp_path: Path) -> Path:
    root = tmp_path / "out"
    root.mkdir()
    return root


def make_settings(output_root: Path, **values: object) -> Settings:
    env = {"IMAGE_GEN_MCP_OUTPUT_DIR": str(output_root), "IMAGE_GEN_MCP_FAKE_PROVIDER": True}
    env.update(values)
    return Settings(_env_file=None, **env)


@pytest.fixture
def settings(output_root: Path) -> Settings:
    return make_settings(output_root)


@pytest.fixture
def container(settings: Settings) -> Container:
    return build_container(settings)


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    """A loopback OAuth token endpoint for Vertex service-account tests."""
    from tests.adapters.google_fakes import running_token_server

    with running_token_server() as server:
        yield server
