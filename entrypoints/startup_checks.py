"""What the settings model alone cannot see: which vendors are enabled, defaults that point at
a vendor that is off, and ``IMAGE_GEN_MCP_*`` variables that no setting reads (typos).

Pure functions over :class:`Settings` and the environment, so start-up, ``check`` and tests
share them; nothing here imports a vendor SDK.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path

from entrypoints.settings import Settings, parse_pairs

PREFIX = "IMAGE_GEN_MCP_"
VENDOR_IDS = ("openai", "azure", "gemini", "vertex", "openrouter")

# The variable a user sets to enable a vendor, and where its base URL comes from.
BASE_URL_VARIABLES = {
    "openai": "OPENAI_BASE_URL",
    "azure": "AZURE_OPENAI_ENDPOINT",
    "gemini": "GOOGLE_GEMINI_BASE_URL",
    "vertex": "GOOGLE_VERTEX_BASE_URL",
    "openrouter": "OPENROUTER_BASE_URL",
}


def missing_variables(provider_id: str, s: Settings) -> tuple[str, ...]:
    """Which variables a vendor still needs; empty when it is configured."""
    need: dict[str, list[tuple[str, object]]] = {
        "openai": [("OPENAI_API_KEY", s.openai_api_key)],
        "azure": [
            ("AZURE_OPENAI_ENDPOINT", s.azure_openai_endpoint),
            (
                "AZURE_OPENAI_API_KEY",
                s.azure_openai_api_key or s.azure_openai_ad_token or s.azure_openai_use_entra_id,
            ),
        ],
        "gemini": [("GEMINI_API_KEY", s.gemini_api_key)],
        "vertex": [("VERTEX_PROJECT", s.vertex_project)],
        "openrouter": [("OPENROUTER_API_KEY", s.openrouter_api_key)],
        "placeholder": [("IMAGE_GEN_MCP_PLACEHOLDER=true", s.placeholder_enabled)],
        "fake": [("IMAGE_GEN_MCP_FAKE_PROVIDER=true", s.fake_provider_enabled)],
    }
    return tuple(name for name, value in need.get(provider_id, []) if not value)


def configuration_errors(settings: Settings) -> list[str]:
    """One ``VARIABLE: what is wrong`` line per default that names a provider that is off."""
    lines: list[str] = []
    chosen = settings.default_provider
    if chosen and (missing := missing_variables(chosen, settings)):
        lines.append(
            f"IMAGE_GEN_MCP_DEFAULT_PROVIDER: {chosen} is not enabled; set {' and '.join(missing)}"
        )
    for provider in parse_pairs(settings.default_models):
        if missing := missing_variables(provider, settings):
            lines.append(
                f"IMAGE_GEN_MCP_DEFAULT_MODELS: names a model for {provider}, which is not enabled; "
                f"set {' and '.join(missing)} or remove the pair"
            )
    return lines


def known_variables() -> frozenset[str]:
    """Every environment name some setting reads, from the settings model itself (so a
    setting added later is known without touching this module)."""
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", [alias]) if alias is not None else []
        names.update(c for c in choices if isinstance(c, str))
    return frozenset(names)


def unknown_variables(names: Iterable[str]) -> list[str]:
    """A warning per ``IMAGE_GEN_MCP_*`` name no setting reads, with the closest known name."""
    known = known_variables()
    warnings: list[str] = []
    for name in sorted(set(names)):
        if not name.upper().startswith(PREFIX) or name.upper() in known:
            continue
        close = difflib.get_close_matches(name.upper(), [k for k in known if k.startswith(PREFIX)], n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"{name}: no setting reads this variable{hint}")
    return warnings


def env_file_names(path: Path = Path(".env")) -> list[str]:
    """The variable names a ``.env`` file sets (values are never read here)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    names = []
    for line in text.splitlines():
        line = line.strip().removeprefix("export ").strip()
        if line and not line.startswith("#") and "=" in line:
            names.append(line.split("=", 1)[0].strip())
    return names


def configuration_warnings(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Typos in variable names, and folders that were relative (now resolved)."""
    warnings = unknown_variables([*environ, *env_file_names()])
    for variable, resolved in settings.resolved_folders():
        warnings.append(
            f"{variable}: relative path resolved against the working directory to {resolved} "
            "(hosts start servers in a folder of their own: give an absolute path)"
        )
    return warnings
