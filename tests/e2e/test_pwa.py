"""Guildhall installs to a phone's home screen: a favicon, a web app manifest whose icons
load, and a service worker that shows an offline page instead of the browser's error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.conftest import wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_the_favicon_and_the_manifest_and_its_icons_are_served(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context(width=390, height=844).new_page()
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200 and icon.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    manifest = page.request.get("/manifest.json")
    assert manifest.status == 200
    app = manifest.json()
    assert (app["name"], app["start_url"], app["display"]) == (
        "Guildhall",
        "/dashboard",
        "standalone",
    )
    sizes = {i["sizes"] for i in app["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for entry in app["icons"]:
        got = page.request.get(entry["src"])
        assert got.status == 200 and got.body()[:8] == b"\x89PNG\r\n\x1a\n", entry["src"]
    page.goto("/signin")
    wait_ready(page)
    assert page.locator("link[rel=manifest]").get_attribute("href") == "/manifest.json"


def test_offline_a_page_shows_the_offline_page_not_the_browser_s_error(
    new_context: Callable[..., BrowserContext],
) -> None:
    context = new_context(width=390, height=844)
    page = context.new_page()
    page.goto("/signin")
    wait_ready(page)
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")

    context.set_offline(True)
    page.goto("/dashboard")
    expect(page.locator("#offline h1")).to_have_text("You are offline")
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    assert page.title() == "Offline · Guildhall"
