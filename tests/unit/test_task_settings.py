"""How the settings shape background tasks and the worker command."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.cli import parse_args
from entrypoints.mcp.tasks import build_tasks_extension, docket_url
from entrypoints.mcp.worker import check_worker_settings
from tests.conftest import make_settings


def test_without_redis_each_server_gets_a_memory_backend_of_its_own(output_root: Path) -> None:
    settings = make_settings(output_root)
    first, second = docket_url(settings), docket_url(settings)
    assert first.startswith("memory://") and first != second


def test_a_redis_url_gets_a_connect_timeout_and_keeps_its_own_options(output_root: Path) -> None:
    url = docket_url(make_settings(output_root, IMAGE_GEN_MCP_REDIS_URL="redis://:pw@10.0.0.5:6380/2?ssl_cert_reqs=none"))
    assert url.startswith("redis://:pw@10.0.0.5:6380/2?")
    assert "ssl_cert_reqs=none" in url and "socket_connect_timeout=5" in url and "max_connections=1000" in url


def test_the_redis_password_is_a_secret(output_root: Path) -> None:
    settings = make_settings(output_root, IMAGE_GEN_MCP_REDIS_URL="redis://:s3cr3t-pw@127.0.0.1:6379/0")
    assert "s3cr3t-pw" in settings.secrets()
    assert "s3cr3t-pw" not in repr(settings)


def test_task_settings_reach_docket(output_root: Path) -> None:
    extension = build_tasks_extension(
        make_settings(output_root, IMAGE_GEN_MCP_TASK_REDELIVERY=7, IMAGE_GEN_MCP_MAX_IN_FLIGHT=5)
    )
    assert extension is not None
    assert extension.docket_settings.redelivery_timeout.total_seconds() == 7
    assert extension.docket_settings.concurrency == 5  # the in-flight cap, unless told otherwise
    assert extension.docket_settings.name == "image-gen-mcp"
    assert build_tasks_extension(make_settings(output_root, IMAGE_GEN_MCP_TASKS=False)) is None


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({}, "IMAGE_GEN_MCP_REDIS_URL"),
        ({"IMAGE_GEN_MCP_REDIS_URL": "redis://127.0.0.1:1/0", "IMAGE_GEN_MCP_TASKS": False}, "IMAGE_GEN_MCP_TASKS"),
        (
            {"IMAGE_GEN_MCP_REDIS_URL": "redis://127.0.0.1:1/0", "IMAGE_GEN_MCP_TASK_CONCURRENCY": 0},
            "IMAGE_GEN_MCP_TASK_CONCURRENCY",
        ),
    ],
)
def test_a_worker_that_could_do_nothing_refuses_to_start(output_root: Path, values: dict, names: str) -> None:
    with pytest.raises(SystemExit, match=names):
        check_worker_settings(make_settings(output_root, **values))


def test_the_command_line_knows_the_worker() -> None:
    assert parse_args(["worker"]).command == "worker"
    assert parse_args(["--transport", "http"]).command == "serve"
