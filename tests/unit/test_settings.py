"""Settings keep the older server's variable names and keep keys secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import Settings, parse_pairs


def test_seed_variable_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "OPENAI_API_KEY": "sk-openai",
        "AZURE_OPENAI_API_KEY": "az-key",
        "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com",
        "AZURE_OPENAI_API_VERSION": "2025-04-01-preview",
        "GEMINI_API_KEY": "gm-key",
        "OPENROUTER_API_KEY": "or-key",
        "VERTEX_PROJECT": "proj",
        "VERTEX_LOCATION": "us-central1",
        "VERTEX_CREDENTIALS_PATH": "/tmp/sa.json",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.openai_api_key.get_secret_value() == "sk-openai"
    assert settings.azure_openai_endpoint == "https://res.openai.azure.com"
    assert settings.gemini_api_key.get_secret_value() == "gm-key"
    assert settings.openrouter_api_key.get_secret_value() == "or-key"
    assert (settings.vertex_project, settings.vertex_location) == ("proj", "us-central1")
    assert settings.vertex_credentials_path == Path("/tmp/sa.json")
    for secret in ("sk-openai", "az-key", "gm-key", "or-key"):
        assert secret not in repr(settings)
        assert secret in settings.secrets()


def test_google_api_key_is_an_alias_and_defaults_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "g-key")
    settings = Settings(_env_file=None)
    assert settings.gemini_api_key.get_secret_value() == "g-key"
    assert settings.vertex_location == "global"
    assert settings.azure_openai_api_version == "2025-04-01-preview"
    assert settings.placeholder_enabled is True


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("OPENROUTER_API_KEY=from-dotenv\nIMAGE_GEN_MCP_MAX_N=4\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.openrouter_api_key.get_secret_value() == "from-dotenv"
    assert settings.max_n == 4


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_GEN_MCP_MAX_N", "50")
    with pytest.raises(ValueError, match=r"max_n|IMAGE_GEN_MCP_MAX_N"):
        Settings(_env_file=None)


def test_parse_pairs() -> None:
    assert parse_pairs(" gpt-image-1.5 = my-deploy ,bad, x=y,") == {"gpt-image-1.5": "my-deploy", "x": "y"}
    assert parse_pairs(None) == {}


def test_keys_are_stripped_and_blank_keys_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abc123\r\n")
    monkeypatch.setenv("OPENROUTER_API_KEY", "   ")
    settings = Settings(_env_file=None)
    assert settings.openai_api_key.get_secret_value() == "sk-abc123"
    assert settings.openrouter_api_key is None
    assert "sk-abc123" in settings.secrets()


def test_redis_url_is_a_secret_with_its_password_masked_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_GEN_MCP_REDIS_URL", "rediss://app:p%40ss-0123456@redis.internal:6380/2")
    settings = Settings(_env_file=None)
    assert "p%40ss" not in repr(settings) and "redis.internal" not in repr(settings)
    # The whole URL, the password as written and as decoded: a log line may quote any of them.
    assert {"p%40ss-0123456", "p@ss-0123456"} <= set(settings.secrets())


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "unix:///tmp/r.sock"])
def test_redis_url_must_be_redis_or_rediss(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("IMAGE_GEN_MCP_REDIS_URL", url)
    with pytest.raises(ValidationError, match="redis:// or rediss://"):
        Settings(_env_file=None)


def test_without_redis_the_cap_is_per_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from application.admission import InFlightLimit
    from entrypoints.container import build_container

    monkeypatch.setenv("IMAGE_GEN_MCP_OUTPUT_DIR", str(tmp_path))
    container = build_container(Settings(_env_file=None))
    assert container.shared_limits() is None and isinstance(container.in_flight(), InFlightLimit)


def test_a_lease_must_outlive_a_renewal(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("IMAGE_GEN_MCP_REDIS_TIMEOUT", "2")
    monkeypatch.setenv("IMAGE_GEN_MCP_LEASE_TTL", "5")
    with pytest.raises(ValidationError, match="LEASE_TTL must be at least 3"):
        Settings(_env_file=None)
    monkeypatch.setenv("IMAGE_GEN_MCP_LEASE_TTL", "6")
    assert Settings(_env_file=None).lease_s == 6
