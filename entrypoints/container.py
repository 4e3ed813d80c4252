"""The composition root: the only module that imports adapters.

``build_container(settings)`` wires every port to its adapter from the settings. Vendor
adapters are Singletons, built only when enabled, so an unconfigured vendor costs nothing
(its SDK is never imported).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from dependency_injector import containers, providers

from adapters.filesystem_store import FilesystemImageStore
from adapters.local_files import LocalFileReader
from adapters.memory import FakeImageProvider, InMemoryImageStore
from adapters.object_store_backends import open_object_image_store
from adapters.placeholder_provider import PlaceholderImageProvider
from adapters.providers.azure_provider import build_azure_provider
from adapters.providers.gemini_provider import build_gemini_provider
from adapters.providers.google_catalog import gemini_catalog, vertex_catalog
from adapters.providers.openai_catalog import azure_catalog, openai_catalog
from adapters.providers.openai_provider import build_openai_provider
from adapters.providers.openrouter_catalog import openrouter_catalog
from adapters.providers.openrouter_provider import build_openrouter_provider
from adapters.providers.prices import PriceTable
from adapters.providers.vertex_provider import build_vertex_provider
from adapters.redis_admission import RedisInFlightLimit
from adapters.redis_budget import RedisSpendBudget
from adapters.store_budget import StoreSpendBudget
from adapters.url_fetcher import SafeUrlFetcher
from application.admission import InFlightLimit
from application.budget import NoBudget, SpendBudget
from application.capabilities import GetModelCapabilities
from application.create_images import CreateImages, EditImage, GenerateImage
from application.policy import PolicyLimits
from application.ports import AdmissionControl, ImageProvider, ImageStore
from application.retry import RetryPolicy
from application.routing import DisabledProvider, ProviderRegistry
from domain.catalog import ModelSpec
from entrypoints.decode_pool import DecodePool
from entrypoints.image_inputs import ImageInputReader
from entrypoints.log_redaction import install_redaction, register_secrets
from entrypoints.settings import Settings, parse_pairs
from entrypoints.startup_checks import missing_variables
from entrypoints.tenancy import TenantStore, current_tenant

# Vendor id -> (factory building the adapter from settings, its curated catalog).
# An adapter is built only when its vendor is configured; the catalog alone is pure data
# (shown for disabled vendors), so listing it imports no SDK.
VendorEntry = tuple[Callable[[Settings], ImageProvider], Callable[[], Sequence[ModelSpec]]]
VENDORS: dict[str, VendorEntry] = {
    # One line per vendor adapter, e.g. "openai": (build_openai_provider, openai_catalog),
    "openai": (build_openai_provider, openai_catalog),
    "azure": (build_azure_provider, azure_catalog),
    "gemini": (build_gemini_provider, gemini_catalog),
    "vertex": (build_vertex_provider, vertex_catalog),
    "openrouter": (build_openrouter_provider, openrouter_catalog),
}


def build_registry(
    settings: Settings,
    vendors: Mapping[str, VendorEntry],
    placeholder: Callable[[], ImageProvider],
    fake: Callable[[], ImageProvider],
) -> ProviderRegistry:
    enabled: dict[str, ImageProvider] = {}
    disabled: dict[str, DisabledProvider] = {}
    for provider_id in ("openai", "azure", "gemini", "vertex", "openrouter"):
        entry = vendors.get(provider_id)
        missing = missing_variables(provider_id, settings)
        if entry is None:
            disabled[provider_id] = DisabledProvider(
                provider_id, missing, note="This build has no adapter for this provider yet."
            )
        elif missing:
            disabled[provider_id] = DisabledProvider(provider_id, missing, tuple(entry[1]()))
        else:
            enabled[provider_id] = entry[0](settings)
    if settings.placeholder_enabled:
        enabled["placeholder"] = placeholder()
    else:
        disabled["placeholder"] = DisabledProvider("placeholder", ("IMAGE_GEN_MCP_PLACEHOLDER=true",))
    if settings.fake_provider_enabled:
        enabled["fake"] = fake()
    return ProviderRegistry(
        enabled=enabled,
        disabled=disabled,
        default_provider=settings.default_provider,
        default_models=parse_pairs(settings.default_models),
    )


def build_image_reader(
    settings: Settings, store: ImageStore, fetcher: Callable[[], SafeUrlFetcher], remote: bool = False
) -> ImageInputReader:
    """The reader of ``images``/``mask`` arguments with every cap from the settings.

    ``remote`` readers serve HTTP callers, who are not the operator: they read local files only
    when IMAGE_GEN_MCP_LOCAL_INPUT_REMOTE says so too."""
    local_dir = settings.local_input_dir
    if remote and not settings.local_input_remote:
        local_dir = None
    return ImageInputReader(
        store,
        settings.max_input_bytes,
        fetch=fetcher() if settings.allow_url_fetch else None,
        max_pixels=settings.max_input_pixels,
        read_local=LocalFileReader(local_dir, settings.max_input_bytes) if local_dir else None,
        pool=DecodePool(settings.decode_workers),
    )


def build_shared_limits(settings: Settings) -> RedisInFlightLimit | None:
    """The cluster-wide in-flight cap on ``IMAGE_GEN_MCP_REDIS_URL``; None when it is unset."""
    if settings.redis_url is None:
        return None
    return RedisInFlightLimit.from_url(
        settings.redis_url.get_secret_value(),
        settings.max_in_flight,
        timeout_s=settings.redis_timeout_s,
        lease_s=settings.lease_s,
        key=f"{settings.redis_prefix}in-flight",
    )


def _tenant_name() -> str:
    return current_tenant() or ""


def build_budget(settings: Settings, store: ImageStore) -> SpendBudget:
    """The daily budget: on Redis when a URL is set (exact across instances), else summed from
    the store's records; none when ``IMAGE_GEN_MCP_DAILY_BUDGET`` is unset."""
    if settings.daily_budget is None:
        return NoBudget()
    if settings.redis_url is not None:
        return RedisSpendBudget.from_url(
            settings.redis_url.get_secret_value(),
            _tenant_name,
            settings.daily_budget,
            timeout_s=settings.redis_timeout_s,
            prefix=settings.redis_prefix,
        )
    return StoreSpendBudget(store, _tenant_name, settings.daily_budget)


def pick_admission(shared: AdmissionControl | None, limit: int) -> AdmissionControl:
    return shared if shared is not None else InFlightLimit(limit)


class Container(containers.DeclarativeContainer):
    """Every dependency of the entrypoints, wired from :class:`Settings`."""

    config = providers.Configuration(strict=True)
    settings = providers.Dependency(instance_of=Settings)

    storage = providers.Selector(
        config.store,
        filesystem=providers.Singleton(FilesystemImageStore, root=config.output_dir),
        memory=providers.Singleton(InMemoryImageStore),
        # Object storage: the URL names the bucket and prefix; credentials and the endpoint
        # come from the standard AWS (or Google) environment, read by the client itself.
        s3=providers.Singleton(open_object_image_store, url=config.store_url),
        gs=providers.Singleton(open_object_image_store, url=config.store_url),
    )
    # What every entrypoint and use case gets: the current request's tenant view of storage.
    store = providers.Singleton(TenantStore, storage=storage)
    placeholder = providers.Singleton(PlaceholderImageProvider)
    fake = providers.Singleton(
        FakeImageProvider,
        latency=config.fake_latency_s,
        fault_rate=config.fake_fault_rate,
        fault_seed=config.fake_fault_seed,
    )
    # Image URLs in edit inputs: https only, public addresses only, pinned, capped.
    url_fetcher = providers.Singleton(
        SafeUrlFetcher,
        timeout_s=config.url_timeout_s,
        max_bytes=config.max_input_bytes,
        allowed_hosts=config.url_allowed_hosts,
    )
    # One reader of image arguments for every entrypoint, so every cap applies everywhere.
    image_reader = providers.Singleton(
        build_image_reader,
        settings=settings,
        store=store,
        fetcher=url_fetcher.provider,
    )
    remote_image_reader = providers.Singleton(
        build_image_reader,
        settings=settings,
        store=store,
        fetcher=url_fetcher.provider,
        remote=True,
    )
    vendors: providers.Provider[dict[str, VendorEntry]] = providers.Object(VENDORS)

    registry = providers.Singleton(
        build_registry,
        settings=settings,
        vendors=vendors,
        placeholder=placeholder.provider,
        fake=fake.provider,
    )
    limits = providers.Singleton(PolicyLimits, max_n=config.max_n, max_fan_out=config.max_fan_out)
    retry = providers.Singleton(
        RetryPolicy, attempts=config.retry_attempts, deadline=config.request_timeout_s
    )
    # Per process by default; shared by every instance on one Redis when a URL is set.
    shared_limits = providers.Singleton(build_shared_limits, settings=settings)
    in_flight = providers.Singleton(pick_admission, shared=shared_limits, limit=config.max_in_flight)
    prices = providers.Singleton(PriceTable)
    budget = providers.Singleton(build_budget, settings=settings, store=store)
    create_images = providers.Singleton(
        CreateImages,
        registry=registry,
        store=store,
        limits=limits,
        retry=retry,
        in_flight=in_flight,
        heartbeat_s=config.heartbeat_s,
        input_timeout_s=config.input_timeout_s,
        prices=prices,
        max_cost_per_call=config.max_cost_per_call,
        budget=budget,
    )
    generate_image = providers.Factory(GenerateImage, run=create_images)
    edit_image = providers.Factory(EditImage, run=create_images)
    get_model_capabilities = providers.Factory(GetModelCapabilities, registry=registry, prices=prices)


def build_container(settings: Settings) -> Container:
    """Load the settings into a fresh container. Nothing is instantiated until first use."""
    container = Container(settings=settings)
    container.config.from_pydantic(settings)
    register_secrets(settings.secrets())  # masked in every error payload and log line
    # Here rather than only in the console script: `fastmcp run …:create_server` and an
    # embedding ASGI server build the container without it.
    install_redaction()
    return container


async def shutdown(container: Container) -> None:
    """Close every vendor client that was actually built."""
    registry = container.registry()
    for provider in registry.enabled.values():
        await provider.aclose()
    await container.url_fetcher().aclose()
    shared = container.shared_limits()
    if shared is not None:
        await shared.aclose()
    budget = container.budget()
    if isinstance(budget, RedisSpendBudget):
        await budget.aclose()
