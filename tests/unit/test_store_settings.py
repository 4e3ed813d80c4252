"""IMAGE_GEN_MCP_STORE_URL and IMAGE_GEN_MCP_STORE agree, or start-up stops with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.store_location import StoreLocation, parse_store_url
from entrypoints.cli import load_settings
from entrypoints.settings import Settings


def settings_from(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def start_up_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        load_settings()
    assert exited.value.code == 2  # a configuration error, as for a bad command line
    message = capsys.readouterr().err.strip()
    assert message.startswith("image-gen-mcp: invalid configuration")
    assert len(message.splitlines()) == 2 and "Traceback" not in message
    return message.splitlines()[1]


def test_unset_keeps_the_filesystem_store(monkeypatch) -> None:
    settings = settings_from(monkeypatch)
    assert (settings.store, settings.store_url) == ("filesystem", None)
    assert settings_from(monkeypatch, IMAGE_GEN_MCP_STORE="memory").store == "memory"


def test_a_file_url_is_the_filesystem_store_in_that_folder(monkeypatch, tmp_path: Path) -> None:
    settings = settings_from(monkeypatch, IMAGE_GEN_MCP_STORE_URL=f"file://{tmp_path}/images")
    assert settings.store == "filesystem" and settings.output_dir == tmp_path / "images"
    same = settings_from(monkeypatch, IMAGE_GEN_MCP_OUTPUT_DIR=str(tmp_path / "images"))
    assert same.output_dir == tmp_path / "images"


def test_an_s3_url_selects_the_object_store(monkeypatch) -> None:
    settings = settings_from(monkeypatch, IMAGE_GEN_MCP_STORE_URL="s3://my-images/team/a/")
    assert settings.store == "s3" and settings.store_url == "s3://my-images/team/a/"
    assert settings_from(monkeypatch, IMAGE_GEN_MCP_STORE="s3").store == "s3"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"IMAGE_GEN_MCP_STORE": "memory", "IMAGE_GEN_MCP_STORE_URL": "s3://bucket-a/x"},
         "IMAGE_GEN_MCP_STORE=memory contradicts IMAGE_GEN_MCP_STORE_URL (s3://…): set one of them"),
        ({"IMAGE_GEN_MCP_STORE": "filesystem", "IMAGE_GEN_MCP_STORE_URL": "gs://bucket-a"},
         "IMAGE_GEN_MCP_STORE=filesystem contradicts IMAGE_GEN_MCP_STORE_URL (gs://…)"),
        ({"IMAGE_GEN_MCP_STORE": "memory", "IMAGE_GEN_MCP_STORE_URL": "file:///srv/images"},
         "IMAGE_GEN_MCP_STORE=memory contradicts"),
        ({"IMAGE_GEN_MCP_STORE": "s3"}, "IMAGE_GEN_MCP_STORE=s3 needs IMAGE_GEN_MCP_STORE_URL=s3://bucket/prefix"),
        ({"IMAGE_GEN_MCP_OUTPUT_DIR": "/srv/a", "IMAGE_GEN_MCP_STORE_URL": "file:///srv/b"},
         "name different folders"),
        ({"IMAGE_GEN_MCP_STORE_URL": "ftp://host/x"}, "(scheme 'ftp' is not supported)"),
        ({"IMAGE_GEN_MCP_STORE_URL": "s3://Bad_Bucket/x"}, "'Bad_Bucket' is not a valid s3 bucket name"),
        ({"IMAGE_GEN_MCP_STORE_URL": "s3://bucket-a/a/../b"}, "the prefix must not hold '.', '..'"),
        ({"IMAGE_GEN_MCP_STORE_URL": "file://relative/x"}, "file:///absolute/folder"),
    ],
)  # fmt: skip
def test_contradictions_and_bad_urls_stop_start_up_in_one_line(monkeypatch, capsys, env, expected) -> None:
    assert expected in start_up_error(monkeypatch, capsys, **env)


def test_credentials_in_the_url_are_refused_and_never_echoed(monkeypatch, capsys) -> None:
    line = start_up_error(
        monkeypatch, capsys, IMAGE_GEN_MCP_STORE_URL="s3://AKIAEXAMPLE:s3cr3t-value@bucket-a/x"
    )
    assert "credentials and endpoints come from the AWS/Google environment" in line
    assert "s3cr3t-value" not in line and "AKIAEXAMPLE" not in line


def test_the_aws_secret_is_a_registered_secret(monkeypatch) -> None:
    settings = settings_from(
        monkeypatch, AWS_SECRET_ACCESS_KEY="aws-secret-value", AWS_SESSION_TOKEN="tok-value"
    )
    assert {"aws-secret-value", "tok-value"} <= set(settings.secrets())
    assert "aws-secret-value" not in repr(settings)


def test_parse_store_url() -> None:
    assert parse_store_url("s3://bucket-a") == StoreLocation(scheme="s3", bucket="bucket-a")
    assert parse_store_url("S3://bucket-a//team//x/") == StoreLocation(
        scheme="s3", bucket="bucket-a", prefix="team/x"
    )
    assert parse_store_url("gs://my_bucket/p").bucket == "my_bucket"
    assert parse_store_url("file://localhost/srv/img").path == "/srv/img"
    with pytest.raises(ValueError, match="no query"):
        parse_store_url("s3://bucket-a/x?versionId=1")
