"""PyPI has unrelated distributions named `adapters` and `entrypoints`; make sure the
packages imported here are this repository's own."""

from pathlib import Path

import adapters
import application
import domain
import entrypoints

REPO = Path(__file__).resolve().parents[1]


def test_top_level_packages_are_this_repository() -> None:
    for package in (domain, application, adapters, entrypoints):
        assert Path(package.__file__).resolve().is_relative_to(REPO), package.__file__
