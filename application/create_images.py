"""The GenerateImage and EditImage use cases: route, plan, call the vendor, store, report."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from attrs import field, frozen

from application.admission import InFlightLimit
from application.budget import NoBudget, SpendBudget
from application.costs import NoPrices, PriceBook, estimate_calls, result_cost
from application.policy import Plan, PolicyLimits, plan_request
from application.ports import AdmissionControl, ImageProvider, ImageStore
from application.retry import RetryPolicy
from application.routing import ProviderRegistry, Route
from domain.errors import AppError, BudgetExceeded, InputTimeout, InvalidRequest
from domain.images import GeneratedImage, ImageData, ImageRequest, ProviderResult, StoredImage, Usage
from domain.normalized import KnobWarning, ProviderRequest
from domain.options import Operation
from domain.pricing import Cost, CostSource

log = logging.getLogger(__name__)

Progress = Callable[[float, float | None, str], Awaitable[None]]
# Called once the vendor has answered, with every image and what the vendor used, before they
# are saved: lets the caller start its own work on them (previews) while the store writes.
ImagesReady = Callable[[Sequence[GeneratedImage], Mapping[str, Any]], None]
# Reads, fetches and checks an edit's input images (and mask); called only once the call has
# been admitted, under the input deadline.
InputLoader = Callable[[], Awaitable[tuple[tuple[ImageData, ...], ImageData | None]]]
_SUMMED = frozenset({"cost"})


@frozen
class OutcomeImage:
    """One image made by the call; ``stored`` is None when saving failed (then
    ``storage_error`` says why, and the bytes are still returned)."""

    image: GeneratedImage
    stored: StoredImage | None
    storage_error: Mapping[str, Any] | None = None


@frozen
class ImageOutcome:
    """Everything a successful call produced, for the entrypoints to present."""

    operation: Operation
    provider: str
    model: str
    items: tuple[OutcomeImage, ...]
    warnings: tuple[KnobWarning, ...]
    usage: Usage
    used: Mapping[str, Any]
    chosen_by_default: bool
    failures: tuple[Mapping[str, Any], ...] = ()
    cost: Cost = field(factory=lambda: Cost(None, CostSource.UNKNOWN))


@frozen
class CreateImages:
    """Shared body of GenerateImage and EditImage.

    Raises any :class:`domain.errors.AppError`: routing and policy errors before any vendor
    call, vendor errors after retries, and ``Overloaded`` when the in-flight cap is reached.
    ``BudgetExceeded`` comes before any vendor call too: when the call's estimate at list
    price exceeds ``max_cost_per_call``, or would take the tenant past its daily ``budget``.
    A partial fan-out failure is not an error: the images that succeeded are returned and
    the failures reported as warnings.
    """

    registry: ProviderRegistry
    store: ImageStore
    limits: PolicyLimits = field(factory=PolicyLimits)
    retry: RetryPolicy = field(factory=RetryPolicy)
    in_flight: AdmissionControl = field(factory=lambda: InFlightLimit(16))
    heartbeat_s: float = 5.0
    input_timeout_s: float = 60.0
    prices: PriceBook = field(factory=NoPrices)
    max_cost_per_call: float | None = None
    budget: SpendBudget = field(factory=NoBudget)

    async def __call__(
        self,
        request: ImageRequest,
        progress: Progress | None = None,
        on_images: ImagesReady | None = None,
        inputs: InputLoader | None = None,
    ) -> ImageOutcome:
        """``inputs``, when given, loads the edit's images after admission: the in-flight cap
        and the input deadline then bound decoding and fetching too, not only the vendor call."""
        report = progress or _no_progress
        operation = Operation.EDIT if request.is_edit or inputs is not None else Operation.GENERATE
        route = await self.registry.route(request.provider, request.model, operation)
        # A generation's plan needs nothing but the request: made (and bad options refused)
        # before admission. An edit's depends on its inputs, read only once admitted.
        plan = plan_request(request, route.spec, self.limits) if inputs is None else None
        await self.store.check_directory(request.directory)
        async with self.in_flight.slot():
            if plan is None:
                request = await self._with_inputs(request, inputs)
                plan = plan_request(request, route.spec, self.limits)
            warnings = list(plan.warnings)
            # Before any vendor is paid: the per-call cap, then the day's budget (reserved now,
            # settled with what the call really cost).
            estimate = self._check_cap(plan, warnings)
            reservation = await self.budget.reserve(estimate.usd or 0.0)
            spent: float | None = 0.0  # a call that fails before the vendor answers costs nothing
            try:
                outcome = await self._run(request, route, plan, warnings, report, operation, on_images)
                spent = outcome.cost.usd
            finally:
                await self.budget.settle(reservation, spent)
        return outcome

    def _check_cap(self, plan: Plan, warnings: list[KnobWarning]) -> Cost:
        """The plan's estimate at list price; refused when above ``max_cost_per_call``."""
        estimate = estimate_calls(plan.calls, self.prices)
        cap = self.max_cost_per_call
        if cap is None:
            return estimate
        if estimate.usd is None:
            warnings.append(
                KnobWarning(
                    "cost",
                    f"No price is known for {plan.calls[0].provider}/{plan.calls[0].model}, so the "
                    f"${cap:.2f} per-call cap could not be checked before the call.",
                    advisory=True,
                )
            )
        elif estimate.usd > cap:
            raise BudgetExceeded(
                f"This call is estimated at ${estimate.usd:.4f}, above the ${cap:.2f} per-call cap "
                "(IMAGE_GEN_MCP_MAX_COST_PER_CALL). Ask for fewer or smaller images, a lower "
                "quality or a cheaper model.",
                scope="per_call",
                estimate_usd=round(estimate.usd, 6),
                limit_usd=cap,
            )
        return estimate

    async def _run(
        self,
        request: ImageRequest,
        route: Route,
        plan: Plan,
        warnings: list[KnobWarning],
        report: Progress,
        operation: Operation,
        on_images: ImagesReady | None,
    ) -> ImageOutcome:
        """Call the vendor, store the images and account for what they cost."""
        total = float(plan.total_images + 1)
        await report(0, total, f"Calling {route.spec.provider}/{route.spec.model}")
        results, failures, costs = await self._call_vendor(route.provider, plan, report, total)
        cost = Cost.total(costs)
        for result in results:
            warnings.extend(KnobWarning("vendor", w) for w in result.warnings)
        for failure in failures:
            warnings.append(KnobWarning("n", f"One of the parallel calls failed: {failure['message']}"))
        used = _merged_used(plan, results)
        images = [image for result in results for image in result.images]
        if on_images is not None:
            on_images(images, used)
        items = await self._store_all(request, plan, images, warnings, cost)
        await report(total, total, f"Done: {len(items)} image(s)")
        usage = sum((r.usage for r in results), Usage())
        return ImageOutcome(
            operation=operation,
            provider=route.spec.provider,
            model=route.spec.model,
            items=tuple(items),
            warnings=tuple(warnings),
            usage=usage,
            used=used,
            chosen_by_default=route.chosen_by_default,
            failures=tuple(failures),
            cost=cost,
        )

    async def _with_inputs(self, request: ImageRequest, inputs: InputLoader) -> ImageRequest:
        try:
            async with asyncio.timeout(self.input_timeout_s):
                images, mask = await inputs()
        except TimeoutError:
            raise InputTimeout(
                f"Reading and checking the input images took longer than {self.input_timeout_s:g} s.",
                timeout_s=self.input_timeout_s,
            ) from None
        if not images:
            raise InvalidRequest("edit_image needs at least one image.", option="images")
        return attrs.evolve(request, images=images, mask=mask)

    async def _call_vendor(
        self, provider: ImageProvider, plan: Plan, report: Progress, total: float
    ) -> tuple[list[ProviderResult], list[dict[str, Any]], list[Cost]]:
        """Run the planned calls in parallel, reporting progress per finished call and a
        heartbeat while waiting. Cancelling the caller cancels every vendor call. Returns the
        results, the failures and what each successful call cost."""

        def one(call: ProviderRequest) -> Callable[[], Awaitable[ProviderResult]]:
            method = provider.edit if call.operation is Operation.EDIT else provider.generate
            return lambda: method(call)

        call_of = {
            asyncio.ensure_future(self.retry.run(one(call), what=f"{call.provider} call")): call
            for call in plan.calls
        }
        tasks = list(call_of)
        results: list[ProviderResult] = []
        costs: list[Cost] = []
        errors: list[AppError] = []
        done_images = 0.0
        pending = set(tasks)
        beat = 0
        last = 0.0

        async def emit(value: float, message: str) -> None:
            # MCP requires progress to increase with every notification.
            nonlocal last
            if value > last:
                last = value
                await report(value, total, message)

        try:
            while pending:
                finished, pending = await asyncio.wait(
                    pending, timeout=self.heartbeat_s, return_when=asyncio.FIRST_COMPLETED
                )
                if not finished:
                    # Hosts reset their timeout on progress: creep towards the next whole step
                    # without reaching it (beat/(beat+1) stays distinct for thousands of beats).
                    beat += 1
                    await emit(done_images + beat / (beat + 1), "Waiting for the vendor")
                    continue
                before = done_images
                for task in finished:
                    error = task.exception()
                    if error is None:
                        result = task.result()
                        results.append(result)
                        costs.append(result_cost(call_of[task], result, self.prices))
                        done_images += len(result.images)
                    elif isinstance(error, AppError):
                        errors.append(error)
                    else:
                        raise error
                if done_images > before:
                    beat = 0
                    await emit(done_images, f"{int(done_images)} image(s) ready")
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if not results:
            raise errors[0]
        return results, [e.to_payload() for e in errors], costs

    async def _store_all(
        self,
        request: ImageRequest,
        plan: Plan,
        images: list[GeneratedImage],
        warnings: list[KnobWarning],
        cost: Cost,
    ) -> list[OutcomeImage]:
        metadata = {
            "operation": plan.calls[0].operation.value,
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "provider": plan.calls[0].provider,
            "model": plan.calls[0].model,
            "parameters": _parameters(request, plan),
            "warnings": [w.as_dict() for w in warnings],
            "source_images": [img.source_id for img in request.images if img.source_id],
            "mask_source": request.mask.source_id if request.mask else None,
            "created_at": datetime.now(UTC).isoformat(),
            # Each image carries its share of the call's cost, so a day's records add up to
            # what the tenant spent (the store-kept daily budget sums them).
            "cost_usd": None if cost.usd is None else cost.usd / max(1, len(images)),
            "cost_source": cost.source.value,
        }

        async def save(image: GeneratedImage) -> OutcomeImage:
            try:
                stored = await self.store.save(image, directory=request.directory, metadata=metadata)
            except AppError as error:
                log.warning("storing an image failed: %s", error.message)
                return OutcomeImage(image=image, stored=None, storage_error=error.to_payload())
            return OutcomeImage(image=image, stored=stored)

        # The images of a fan-out are saved side by side; the results keep the vendor's order.
        items = await asyncio.gather(*(save(image) for image in images))
        for item in items:
            if item.storage_error is not None:
                warnings.append(
                    KnobWarning(
                        "directory",
                        f"Not saved ({item.storage_error['code']}): {item.storage_error['message']} "
                        "The image is returned inline instead (at full resolution when it fits the "
                        "result budget, else as a preview).",
                    )
                )
        return list(items)


def _merged_used(plan: Plan, results: list[ProviderResult]) -> dict[str, Any]:
    used: dict[str, Any] = {"aspect_ratio": plan.aspect_ratio, "size_tier": plan.size_tier.value}
    for result in results:
        for key, value in result.used.items():
            if key in _SUMMED and isinstance(value, int | float):
                # Fan-out: each call reports its own cost; the caller paid for all.
                used[key] = used.get(key, 0) + value
            else:
                used[key] = value
    return used


def _parameters(request: ImageRequest, plan: Plan) -> dict[str, Any]:
    call = plan.calls[0]
    return {
        "n": request.n,
        "size": plan.size_tier.value,
        "aspect_ratio": plan.aspect_ratio,
        "orientation": request.orientation.value if request.orientation else None,
        "quality": request.quality.value if request.quality else None,
        "background": request.background.value if request.background else None,
        "output_format": call.output_format.value,
        "width": call.width,
        "height": call.height,
    }


async def _no_progress(progress: float, total: float | None, message: str) -> None:
    return None


@frozen
class GenerateImage:
    """Generate images from a prompt. Raises InvalidRequest if input images are passed."""

    run: CreateImages

    async def __call__(
        self, request: ImageRequest, progress: Progress | None = None, on_images: ImagesReady | None = None
    ) -> ImageOutcome:
        if request.images or request.mask:
            raise InvalidRequest("generate_image takes no images; use edit_image.")
        return await self.run(request, progress, on_images)


@frozen
class EditImage:
    """Edit one or more input images (optionally with a mask) following the prompt. The
    images come decoded in ``request`` or, better, as an ``inputs`` loader that runs only once
    the call is admitted."""

    run: CreateImages

    async def __call__(
        self,
        request: ImageRequest,
        progress: Progress | None = None,
        on_images: ImagesReady | None = None,
        inputs: InputLoader | None = None,
    ) -> ImageOutcome:
        if not request.images and inputs is None:
            raise InvalidRequest("edit_image needs at least one image.", option="images")
        return await self.run(request, progress, on_images, inputs)
