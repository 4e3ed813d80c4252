from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from tests.http.helpers import AUTH, make_app, serving


@pytest.fixture
async def client(output_root: Path) -> AsyncIterator[httpx2.AsyncClient]:
    """A client of a fresh app (token required, fake provider on) that sends the token."""
    async with serving(make_app(output_root), headers=AUTH) as http:
        yield http
