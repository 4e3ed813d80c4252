from __future__ import annotations

import pytest

from tests.adapters.openrouter_fake import Clock, FakeOpenRouter


@pytest.fixture
def fake() -> FakeOpenRouter:
    return FakeOpenRouter()


@pytest.fixture
def clock() -> Clock:
    return Clock()
