"""The fake vendor's fault injection (used by benchmarks/soak.py) is seeded and bounded."""

from __future__ import annotations

from adapters.memory import FAKE_MODELS, FakeImageProvider
from domain.errors import AppError
from domain.normalized import ProviderRequest
from domain.options import Operation, OutputFormat, SizeTier


def request() -> ProviderRequest:
    return ProviderRequest(
        operation=Operation.GENERATE,
        spec=FAKE_MODELS[0],
        prompt="x",
        n=1,
        aspect_ratio="1:1",
        size_tier=SizeTier.S,
        size_label="small",
        width=8,
        height=8,
        quality=None,
        background=None,
        output_format=OutputFormat.PNG,
        output_compression=None,
    )


async def outcomes(provider: FakeImageProvider, count: int) -> list[str]:
    seen = []
    for _ in range(count):
        try:
            await provider.generate(request())
            seen.append("ok")
        except AppError as error:
            seen.append(error.code)
    return seen


async def test_same_seed_same_faults_and_rate_respected(monkeypatch) -> None:
    monkeypatch.setattr("adapters.memory.asyncio.sleep", _no_sleep)
    first = await outcomes(FakeImageProvider(fault_rate=0.5, fault_seed=3), 60)
    again = await outcomes(FakeImageProvider(fault_rate=0.5, fault_seed=3), 60)
    assert first == again
    assert 10 < sum(o != "ok" for o in first) < 40
    assert {"provider_unavailable", "rate_limited", "timeout"} <= set(first)
    assert await outcomes(FakeImageProvider(fault_rate=0.0), 30) == ["ok"] * 30


async def _no_sleep(seconds: float) -> None:
    return None
