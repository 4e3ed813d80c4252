"""The console script's start-up: a bad variable is named in one short line, never echoed;
exit status 2, no traceback. Typos and relative folders are warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.cli import load_settings, main
from entrypoints.container import build_container
from entrypoints.startup_report import startup_block
from tests.conftest import make_settings


def refusal(capsys: pytest.CaptureFixture[str]) -> list[str]:
    with pytest.raises(SystemExit) as exited:
        load_settings()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("image-gen-mcp: invalid configuration") and "Traceback" not in err
    return err.splitlines()[1:]


def test_invalid_settings_exit_2_with_one_line_per_variable(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("IMAGE_GEN_MCP_MAX_N", "99")
    # A value pasted into the wrong variable may be a key: it must not be printed back.
    monkeypatch.setenv("IMAGE_GEN_MCP_TIMEOUT", "sk-pasted-by-mistake")
    lines = refusal(capsys)
    assert "  IMAGE_GEN_MCP_MAX_N: Input should be less than or equal to 10" in lines
    assert any(line.startswith("  IMAGE_GEN_MCP_TIMEOUT: ") for line in lines)
    assert "sk-pasted-by-mistake" not in "\n".join(lines) and len(lines) == 2


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("IMAGE_GEN_MCP_DEFAULT_PROVIDER", "opnai", "unknown provider 'opnai'; use one of openai"),
        ("IMAGE_GEN_MCP_LOG_LEVEL", "loud", "unknown log level 'LOUD'"),
        ("IMAGE_GEN_MCP_DEFAULT_MODELS", "openai:gpt-image-2", "is not a provider=model pair"),
        ("IMAGE_GEN_MCP_DEFAULT_MODELS", "opnai=gpt-image-2", "unknown provider 'opnai'"),
        ("AZURE_OPENAI_DEPLOYMENTS", "gpt-image-2", "is not a model=deployment pair"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, capsys, variable: str, value: str, says: str) -> None:
    monkeypatch.setenv(variable, value)
    [line] = refusal(capsys)
    assert line.startswith(f"  {variable}: ") and says in line


def test_defaults_naming_a_provider_that_is_off_are_refused(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("IMAGE_GEN_MCP_DEFAULT_PROVIDER", "gemini")
    monkeypatch.setenv("IMAGE_GEN_MCP_DEFAULT_MODELS", "openai=gpt-image-1.5")
    lines = refusal(capsys)
    assert lines == [
        "  IMAGE_GEN_MCP_DEFAULT_PROVIDER: gemini is not enabled; set GEMINI_API_KEY",
        "  IMAGE_GEN_MCP_DEFAULT_MODELS: names a model for openai, which is not enabled; "
        "set OPENAI_API_KEY or remove the pair",
    ]


def test_typos_and_relative_folders_warn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("IMAGE_GEN_MCP_OUTPT_DIR", "/somewhere")
    monkeypatch.setenv("IMAGE_GEN_MCP_OUTPUT_DIR", "pictures")
    (tmp_path / ".env").write_text("# a comment\nIMAGE_GEN_MCP_PLACEHOLDR=false\n")
    settings = load_settings()
    err = capsys.readouterr().err
    assert "IMAGE_GEN_MCP_OUTPT_DIR: no setting reads this variable; did you mean IMAGE_GEN_MCP_OUTPUT_DIR?" in err
    assert "IMAGE_GEN_MCP_PLACEHOLDR: no setting reads this variable; did you mean IMAGE_GEN_MCP_PLACEHOLDER?" in err
    assert settings.output_dir == (tmp_path / "pictures").resolve()
    assert f"IMAGE_GEN_MCP_OUTPUT_DIR: relative path resolved against the working directory to {settings.output_dir}" in err


def test_every_setting_of_the_model_is_a_known_variable() -> None:
    from entrypoints.settings import Settings
    from entrypoints.startup_checks import known_variables, unknown_variables

    known = known_variables()
    assert {"IMAGE_GEN_MCP_OUTPUT_DIR", "IMAGE_GEN_MCP_FAST_START", "OPENAI_API_KEY"} <= known
    assert len(known) >= len(Settings.model_fields)
    assert unknown_variables(known) == []


def test_startup_block_says_what_is_running(output_root: Path) -> None:
    settings = make_settings(output_root, IMAGE_GEN_MCP_FAKE_PROVIDER=False, OPENAI_API_KEY="sk-secret-1")
    block = startup_block(build_container(settings), "stdio")
    lines = block.splitlines()
    assert lines[0].startswith("image-gen-mcp ") and lines[0].endswith(" on stdio")
    assert "enabled: openai (gpt-image-2), placeholder (placeholder); default provider openai" in block
    assert "gemini (set GEMINI_API_KEY)" in block and "vertex (set VERTEX_PROJECT)" in block
    assert f"images: {output_root} (IMAGE_GEN_MCP_OUTPUT_DIR)" in block
    assert "sk-secret-1" not in block and len(lines) <= 6


def test_version_flag(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("image-gen-mcp 2.")


def test_env_example_names_only_variables_a_setting_reads() -> None:
    from entrypoints.startup_checks import env_file_names, known_variables

    example = Path(__file__).parents[2] / ".env.example"
    names = [line.lstrip("# ").split("=", 1)[0] for line in example.read_text().splitlines() if "=" in line]
    names = [n for n in names if n.isupper() and " " not in n]
    assert len(names) > 40 and set(names) <= known_variables()
    assert env_file_names(example) == []  # all commented out: copying it changes nothing
