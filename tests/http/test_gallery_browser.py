"""The gallery page in headless Chromium against the console script's server, with two
tenants' placeholder images: previews and full images decode, paging, the detail view by
keyboard, wrong and missing tokens, and not one request leaving 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser import Recorder, chromium
from tests.http.test_http_subprocess import console_server

ACME = "acme-token-0123456789abcdef"
GLOBEX = "globex-token-0123456789abcdef"
ACME_IMAGES = 14  # the page holds 12: two pages
TOKEN_KEY = "image-gen-mcp.token"


@dataclass
class Served:
    url: str
    acme_ids: list[str]  # oldest first
    globex_id: str


def _generate(url: str, token: str, prompt: str) -> str:
    response = httpx2.post(
        f"{url}/v1/images/generations",
        headers={"Authorization": f"Bearer {token}"},
        json={"prompt": prompt, "provider": "placeholder", "size": "S"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["images"][0]["id"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tokens = f"acme={ACME},globex={GLOBEX}"
    with console_server(
        tmp_path_factory.mktemp("gallery"),
        "http",
        IMAGE_GEN_MCP_AUTH_TOKENS=tokens,
        IMAGE_GEN_MCP_FAKE_PROVIDER="false",
    ) as url:
        acme = [_generate(url, ACME, f"acme picture {i}") for i in range(ACME_IMAGES)]
        globex = _generate(url, GLOBEX, "globex secret plans")
        yield Served(url, acme, globex)


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    with chromium() as context:
        yield context


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    page = browser.new_page()
    yield page
    page.close()


def _sign_in(page: Page, url: str, token: str) -> Recorder:
    recorder = Recorder(page)
    page.goto(f"{url}/gallery")
    page.get_by_label("Bearer token").fill(token)
    page.get_by_role("button", name="Open gallery").click()
    return recorder


def _decoded_sizes(page: Page, selector: str) -> list[list[int]]:
    """Natural sizes of the matching images once each has finished decoding (0×0 if broken)."""
    return page.eval_on_selector_all(
        selector,
        """imgs => Promise.all(imgs.map(img => img.decode().catch(() => null)
              .then(() => [img.naturalWidth, img.naturalHeight])))""",
    )


def _assert_stayed_local(recorder: Recorder) -> None:
    assert recorder.requests, "the page made requests"
    assert recorder.foreign() == []
    assert recorder.csp_violations() == []
    for request in recorder.requests:
        assert ACME not in request.url and GLOBEX not in request.url, "a token never goes in a URL"


def test_grid_shows_the_tenants_previews_newest_first_and_pages(page: Page, served: Served) -> None:
    recorder = _sign_in(page, served.url, ACME)
    cards = page.locator("#grid button")
    expect(cards).to_have_count(12)
    expect(page.locator("#grid img[src^='blob:']")).to_have_count(12)
    sizes = _decoded_sizes(page, "#grid img")
    assert len(sizes) == 12 and all(w > 0 and h > 0 for w, h in sizes), sizes
    assert cards.first.get_attribute("data-id") == served.acme_ids[-1]
    expect(cards.first).to_contain_text(f"acme picture {ACME_IMAGES - 1}")
    expect(cards.first).to_contain_text("placeholder · placeholder")
    expect(page.get_by_role("button", name="← Newer")).to_be_disabled()

    page.get_by_role("button", name="Older →").click()
    expect(cards).to_have_count(2)
    assert [cards.nth(i).get_attribute("data-id") for i in range(2)] == served.acme_ids[1::-1]
    expect(page.get_by_role("button", name="Older →")).to_be_disabled()
    expect(page.locator("#grid img[src^='blob:']")).to_have_count(2)
    assert all(w > 0 for w, _ in _decoded_sizes(page, "#grid img"))
    page.get_by_role("button", name="← Newer").click()
    expect(cards).to_have_count(12)

    # Another tenant's image is nowhere, and the token is in session storage, not the URL.
    assert "globex" not in page.content()
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") == ACME
    api = [r for r in recorder.requests if "/v1/images" in r.url]
    assert api and all(r.headers.get("authorization") == f"Bearer {ACME}" for r in api)
    _assert_stayed_local(recorder)


def test_detail_view_by_keyboard(page: Page, served: Served) -> None:
    recorder = _sign_in(page, served.url, GLOBEX)
    expect(page.locator("#grid button")).to_have_count(1)
    page.locator("#grid button").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#detail-view")).to_be_visible()
    expect(page.locator("#full[src^='blob:']")).to_have_count(1)
    [[width, height]] = _decoded_sizes(page, "#full")
    assert (width, height) == (1024, 1024)
    meta = page.locator("#meta")
    expect(meta).to_contain_text("placeholder")
    expect(meta).to_contain_text(served.globex_id)
    expect(page.locator("#detail-prompt")).to_have_text("globex secret plans")
    assert any(r.url.endswith(f"/v1/images/{served.globex_id}") for r in recorder.requests)

    page.keyboard.press("Escape")
    expect(page.locator("#grid-view")).to_be_visible()
    expect(page.locator("#grid button")).to_have_count(1)
    _assert_stayed_local(recorder)


def test_a_bookmarked_image_link_shows_its_metadata(page: Page, served: Served) -> None:
    """Opened on its own (no grid listed first), the detail view asks for the image's record."""
    recorder = _sign_in(page, served.url, GLOBEX)
    expect(page.locator("#grid button")).to_have_count(1)
    fresh = page.context.new_page()  # a new tab: same session storage origin, nothing listed
    fresh.goto(f"{served.url}/gallery")
    fresh.evaluate(f"sessionStorage.setItem('{TOKEN_KEY}', '{GLOBEX}')")
    seen = Recorder(fresh)
    fresh.goto(f"{served.url}/gallery#image={served.globex_id}")
    fresh.reload()
    expect(fresh.locator("#detail-view")).to_be_visible()
    expect(fresh.locator("#detail-prompt")).to_have_text("globex secret plans")
    meta = fresh.locator("#meta")
    expect(meta).to_contain_text("placeholder")
    expect(meta).to_contain_text("1024 × 1024")
    expect(meta).to_contain_text(served.globex_id)
    assert any(r.url.endswith(f"/v1/images/{served.globex_id}/record") for r in seen.requests)
    assert not any("/v1/images?" in r.url for r in seen.requests)  # no listing was needed
    _assert_stayed_local(seen)
    fresh.close()
    _assert_stayed_local(recorder)


def test_wrong_token_shows_an_error_not_an_empty_page(page: Page, served: Served) -> None:
    recorder = _sign_in(page, served.url, "not-a-token-of-this-server")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("not accepted")
    expect(page.get_by_label("Bearer token")).to_be_visible()
    expect(page.locator("#grid-view")).to_be_hidden()
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None
    assert recorder.foreign() == []


def test_without_a_token_the_page_asks_for_one_and_calls_nothing(page: Page, served: Served) -> None:
    recorder = Recorder(page)
    page.goto(f"{served.url}/gallery")
    expect(page.get_by_label("Bearer token")).to_be_focused()
    assert not [r for r in recorder.requests if "/v1/" in r.url]
    # Once given, the token outlives a reload (session storage), and "Forget token" drops it.
    page.get_by_label("Bearer token").fill(ACME)
    page.keyboard.press("Enter")
    expect(page.locator("#grid button")).to_have_count(12)
    page.reload()
    expect(page.locator("#grid button")).to_have_count(12)
    page.get_by_role("button", name="Forget token").click()
    expect(page.get_by_label("Bearer token")).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None
    _assert_stayed_local(recorder)


def test_screenshot_of_the_grid(page: Page, served: Served, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1000, "height": 700})
    _sign_in(page, served.url, ACME)
    expect(page.locator("#grid img[src^='blob:']")).to_have_count(12)
    _decoded_sizes(page, "#grid img")
    shot = tmp_path / "gallery.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # rendered pixels, not a blank page


def test_a_slow_listing_shows_loading_then_the_grid(page: Page, served: Served) -> None:
    held: list[Route] = []

    def hold(route: Route) -> None:  # keep the listing waiting until the test lets it go
        held.append(route)

    page.route("**/v1/images?*", hold)
    recorder = _sign_in(page, served.url, ACME)
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    page.wait_for_timeout(500)  # a slow server: the page says so, and shows no error
    expect(page.locator("#status")).to_have_text("Loading…")
    expect(page.get_by_role("alert")).to_be_hidden()
    held[0].continue_()
    expect(page.locator("#grid img[src^='blob:']")).to_have_count(12)
    expect(page.locator("#status")).to_contain_text("newest first")
    _assert_stayed_local(recorder)
