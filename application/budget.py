"""A cap on what each tenant spends per UTC day, checked before any vendor is paid."""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime, timedelta
from typing import Protocol

from attrs import frozen

from domain.errors import BudgetExceeded


@frozen
class Reservation:
    """What :meth:`SpendBudget.reserve` set aside: ``amount`` USD for ``tenant`` on ``day``."""

    tenant: str
    day: str
    amount: float


class SpendBudget(Protocol):
    """The current tenant's daily spending cap.

    ``reserve(estimate)`` sets the estimate aside for the call about to run, atomically with the
    check, so two calls racing for the last dollars cannot both pass; it raises
    ``BudgetExceeded`` when what was spent today plus what is reserved plus ``estimate`` would
    exceed the cap, or ``BackendUnavailable`` when a shared ledger cannot be reached.
    ``settle(reservation, actual)`` replaces the estimate by what the call cost (``None``:
    unknown, the estimate stands; ``0`` for a call that failed). Days are UTC days.
    """

    @abstractmethod
    async def reserve(self, estimate_usd: float) -> Reservation:
        """Check the cap and set ``estimate_usd`` aside for the current tenant."""

    @abstractmethod
    async def settle(self, reservation: Reservation, actual_usd: float | None) -> None:
        """Record what the reserved call actually cost. Never raises."""


class NoBudget(SpendBudget):
    """No daily budget: every call passes."""

    async def reserve(self, estimate_usd: float) -> Reservation:
        return Reservation("", "", estimate_usd)

    async def settle(self, reservation: Reservation, actual_usd: float | None) -> None:
        return None


def utc_day(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d")


def seconds_to_midnight(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()))


def over_budget(tenant: str, spent: float, estimate: float, limit: float) -> BudgetExceeded:
    """The refusal of a call that would take ``tenant`` past its daily ``limit``."""
    who = f"Tenant {tenant!r}" if tenant else "This server"
    return BudgetExceeded(
        f"{who} has spent ${spent:.4f} of its ${limit:.2f} daily budget (UTC); this call is "
        f"estimated at ${estimate:.4f}. The budget resets at 00:00 UTC.",
        scope="daily",
        spent_usd=round(spent, 6),
        estimate_usd=round(estimate, 6),
        limit_usd=limit,
        retry_after=seconds_to_midnight(),
    )
