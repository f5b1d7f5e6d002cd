"""State-changing requests must come from one of our own pages (the `Origin` check).

SameSite=Lax alone lets a cross-site form POST through in some browsers and situations
(top-level navigations within two minutes of the cookie being set, older browsers), so a
POST from another site must not end a session or start an upload.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.api.edge import ORIGIN_EXEMPT_PATHS, OriginCheckMiddleware
from app.api.routes import build_api
from app.settings import Settings, allowed_origins, get_settings
from tests import factories as f
from tests.api.helpers import BASE

pytestmark = pytest.mark.usefixtures("backend")


def _cookie(token: str) -> dict[str, str]:
    return {"cookie": f"{get_settings().session_cookie_name}={token}"}


def _assert_refused(response: object) -> None:
    assert response.status_code == 403, response.text  # type: ignore[attr-defined]
    assert response.json() == {  # type: ignore[attr-defined]
        "error": {
            "code": "forbidden",
            "message": "This request did not come from a Guildhall page.",
            "field": None,
        }
    }


# --------------------------------------------------------------------------- sign-out


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost:3001", "https://localhost:3000", "null"]
)
def test_a_cross_site_sign_out_is_refused_and_the_session_lives_on(
    client: TestClient, origin: str
) -> None:
    admin = f.new_admin()
    response = client.post("/api/auth/signout", headers={**_cookie(admin.token), "origin": origin})
    _assert_refused(response)
    assert not response.headers.get_list("set-cookie")
    assert f.resolve(admin.token) is not None


def test_a_same_origin_sign_out_works(client: TestClient) -> None:
    admin = f.new_admin()
    response = client.post("/api/auth/signout", headers={**_cookie(admin.token), "origin": BASE})
    assert response.status_code == 303
    assert f.resolve(admin.token) is None


def test_the_loopback_twin_of_the_site_is_same_origin(client: TestClient) -> None:
    admin = f.new_admin()
    headers = {**_cookie(admin.token), "origin": "http://127.0.0.1:3000"}
    assert client.post("/api/auth/signout", headers=headers).status_code == 303


def test_without_origin_the_referer_decides(client: TestClient) -> None:
    admin = f.new_admin()
    evil = {**_cookie(admin.token), "referer": "https://evil.example/page?x=1"}
    _assert_refused(client.post("/api/auth/signout", headers=evil))
    assert f.resolve(admin.token) is not None
    ours = {**_cookie(admin.token), "referer": f"{BASE}/dashboard"}
    assert client.post("/api/auth/signout", headers=ours).status_code == 303


def test_neither_origin_nor_referer_is_refused(client: TestClient) -> None:
    admin = f.new_admin()
    _assert_refused(client.post("/api/auth/signout", headers=_cookie(admin.token)))
    assert f.resolve(admin.token) is not None


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_state_changing_method_is_checked(client: TestClient, method: str) -> None:
    response = client.request(method, "/api/auth/signout", headers={"origin": "https://evil.x"})
    _assert_refused(response)


def test_reads_are_not_checked(client: TestClient) -> None:
    response = client.get("/health", headers={"origin": "https://evil.example"})
    assert response.status_code == 200


def test_a_cross_site_upload_is_refused_before_anything_else(client: TestClient) -> None:
    admin = f.new_admin()
    headers = {
        **_cookie(admin.token),
        "origin": "https://evil.example",
        "reflex-event-handler": "x",
        "reflex-client-token": "t",
    }
    _assert_refused(client.post("/_upload", headers=headers, content=b"x" * 10))


def test_https_sites_accept_only_their_https_origin(settings_env: Callable[..., None]) -> None:
    settings_env(base_url="https://guildhall.example")
    with TestClient(build_api(), base_url="https://guildhall.example", follow_redirects=False) as c:
        refused = c.post("/api/auth/signout", headers={"origin": "http://guildhall.example"})
        _assert_refused(refused)
        ok = c.post("/api/auth/signout", headers={"origin": "https://guildhall.example"})
        assert ok.status_code == 303


# --------------------------------------------------------------------------- exemptions


def test_an_exempt_machine_route_needs_no_origin() -> None:
    """Stripe signs its webhook POSTs and sends no Origin: such routes are listed by path."""

    async def webhook(_request: Request) -> JSONResponse:
        return JSONResponse({"received": True})

    async def other(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    inner = Starlette(
        routes=[
            Route("/api/stripe/webhook", webhook, methods=["POST"]),
            Route("/api/other", other, methods=["POST"]),
        ]
    )
    app = OriginCheckMiddleware(inner, exempt=frozenset({"/api/stripe/webhook"}))
    with TestClient(app, base_url=BASE) as c:
        assert c.post("/api/stripe/webhook", content=b"{}").json() == {"received": True}
        _assert_refused(c.post("/api/other", content=b"{}"))


def test_no_route_is_exempt_today() -> None:
    assert frozenset() == ORIGIN_EXEMPT_PATHS


# --------------------------------------------------------------------------- the origin list


def test_allowed_origins_are_the_site_and_its_loopback_twin() -> None:
    assert allowed_origins("http://localhost:3000") == (
        "http://localhost:3000",
        "http://127.0.0.1:3000",
    )
    assert allowed_origins("http://127.0.0.1:8000/") == (
        "http://127.0.0.1:8000",
        "http://localhost:8000",
    )
    assert allowed_origins("https://Guildhall.Example/app") == ("https://guildhall.example",)
    assert allowed_origins("https://guildhall.example:443") == ("https://guildhall.example",)


def test_the_settings_and_socket_io_share_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUILDHALL_BASE_URL", "https://guildhall.example")
    assert Settings().allowed_origins == ("https://guildhall.example",)
    monkeypatch.delenv("GUILDHALL_BASE_URL")
    monkeypatch.setenv("GUILDHALL_PORT", "4123")
    settings = Settings()
    assert settings.base_url == "http://localhost:4123"
    assert settings.allowed_origins == ("http://localhost:4123", "http://127.0.0.1:4123")

    import importlib

    import rxconfig

    try:
        reloaded = importlib.reload(rxconfig)
        assert list(reloaded.config.cors_allowed_origins) == list(settings.allowed_origins)
        assert reloaded.config.frontend_port == 4123
    finally:
        monkeypatch.delenv("GUILDHALL_PORT")
        importlib.reload(rxconfig)
