"""Security headers on every HTTP response, and the Content-Security-Policy they carry.

The app under test is `build_api()` with a stand-in for the compiled Reflex frontend
mounted inside it, as Reflex mounts itself in production: a built pages directory with an
inline script (as React Router emits), served as static files.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from app.api import csp
from app.api.routes import build_api
from app.services.infra import storage
from app.settings import get_settings
from tests.api.helpers import BASE

pytestmark = pytest.mark.usefixtures("backend")

INLINE = 'window.__reactRouterContext = {"basename": "/"};'
THEME = "\n// theme\ndocument.documentElement.classList.add('light');\n"
PAGE = (
    "<!DOCTYPE html><html><head><script>" + THEME + "</script>"
    '<script defer="" src="/player.js"></script></head>'
    "<body><div id='root'></div><script>" + INLINE + "</script>"
    '<script type="module" async="">import "/assets/entry.js";</script></body></html>'
)


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        if part.strip():
            name, *sources = part.split()
            assert name not in out, f"{name} twice"
            out[name] = sources
    return out


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A compiled frontend (Reflex's `.web/build/client`) with one page and one asset."""
    client = tmp_path / "web" / "build" / "client"
    (client / "dashboard").mkdir(parents=True)
    (client / "assets").mkdir()
    (client / "dashboard" / "index.html").write_text(PAGE)
    (client / "assets" / "entry.js").write_text("console.log('hi');")
    monkeypatch.setenv("REFLEX_WEB_WORKDIR", str(tmp_path / "web"))
    return client


def _boom(_request: Request) -> Response:
    raise RuntimeError("boom")


def _own_headers(_request: Request) -> Response:
    return PlainTextResponse(
        "x",
        headers={"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "SAMEORIGIN"},
    )


@pytest.fixture
def client(built: Path) -> Iterator[TestClient]:
    api = build_api()
    frontend = Starlette(
        routes=[
            Route("/boom", _boom),
            Route("/own-headers", _own_headers),
            Mount("/", StaticFiles(directory=built, html=True)),
        ]
    )
    api.mount("", frontend)
    with TestClient(api, base_url=BASE, follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


def _assert_page_headers(response: object) -> dict[str, list[str]]:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    permissions = headers["permissions-policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in permissions
    assert "strict-transport-security" not in headers  # plain http here
    policy = _directives(headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    return policy


# --------------------------------------------------------------------------- on responses


def test_a_page_carries_the_headers_and_its_inline_scripts_hashes(client: TestClient) -> None:
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = _assert_page_headers(response)
    assert _sha(INLINE) in policy["script-src"]
    assert _sha(THEME) in policy["script-src"]
    assert _sha('import "/assets/entry.js";') in policy["script-src"]


def test_static_assets_carry_the_headers(client: TestClient) -> None:
    response = client.get("/assets/entry.js")
    assert response.status_code == 200
    _assert_page_headers(response)


def test_our_routes_carry_the_headers(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    _assert_page_headers(response)
    refused = client.post("/api/auth/signout", headers={"origin": "https://evil.example"})
    assert refused.status_code == 403
    _assert_page_headers(refused)


def test_not_found_and_server_errors_carry_the_headers(client: TestClient) -> None:
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    _assert_page_headers(missing)
    failed = client.get("/boom")
    assert failed.status_code == 500
    _assert_page_headers(failed)


def test_hsts_only_when_the_site_is_https(
    client: TestClient, settings_env: Callable[..., None]
) -> None:
    assert "strict-transport-security" not in client.get("/health").headers
    settings_env(base_url="https://guildhall.example")
    hsts = client.get("/health").headers["strict-transport-security"]
    assert hsts.startswith("max-age=")
    assert int(hsts.split("=", 1)[1].split(";", 1)[0]) >= 180 * 24 * 3600


def test_headers_a_route_set_itself_are_kept(client: TestClient) -> None:
    response = client.get("/own-headers")
    assert response.headers["content-security-policy"] == "default-src 'none'"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["referrer-policy"] == "same-origin"  # the rest is still added


def test_a_download_keeps_its_sandbox_policy(
    client: TestClient, tmp_path: Path, settings_env: Callable[..., None]
) -> None:
    settings_env(storage_dir=tmp_path / "files")
    key = storage.public_key(uuid.uuid4(), "branding/page.html")
    storage.get_storage().put(key, b"<script>alert(1)</script>", "text/html")
    response = client.get(storage.public_url(key))
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_our_own_pages_may_frame_a_stored_pdf(
    client: TestClient, tmp_path: Path, settings_env: Callable[..., None]
) -> None:
    """The lesson player shows a PDF lesson in an iframe of `/files/...`; nobody else may."""
    settings_env(storage_dir=tmp_path / "files")
    key = storage.public_key(uuid.uuid4(), "handout.pdf")
    storage.get_storage().put(key, b"%PDF-1.7 handout", "application/pdf")
    response = client.get(storage.public_url(key))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert _directives(response.headers["content-security-policy"]) == {
        "frame-ancestors": ["'self'"]
    }


def test_websockets_pass_through(built: Path) -> None:
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())
        await ws.close()

    api = build_api()
    api.mount("", Starlette(routes=[WebSocketRoute("/_event", echo)]))
    with TestClient(api, base_url=BASE) as c, c.websocket_connect("/_event") as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "ping"


# --------------------------------------------------------------------------- the policy itself


def test_the_policy_for_local_storage() -> None:
    policy = _directives(
        csp.content_security_policy(
            origins=("http://localhost:3000", "http://127.0.0.1:3000"),
            script_hashes=("'sha256-abc='",),
            file_origins=(),
        )
    )
    assert policy["default-src"] == ["'self'"]
    # Reflex runs server-sent scripts (rx.call_script) with eval; hashes cover the rest.
    assert policy["script-src"] == ["'self'", "'unsafe-eval'", "'sha256-abc='"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["media-src"] == ["'self'", "data:", "blob:"]
    assert policy["font-src"] == ["'self'", "data:"]
    assert policy["connect-src"] == [
        "'self'",
        "ws://localhost:3000",
        "ws://127.0.0.1:3000",
    ]
    assert policy["frame-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_an_https_site_connects_its_socket_over_wss() -> None:
    policy = _directives(
        csp.content_security_policy(
            origins=("https://guildhall.example",), script_hashes=(), file_origins=()
        )
    )
    assert policy["connect-src"] == ["'self'", "wss://guildhall.example"]
    assert policy["script-src"] == ["'self'", "'unsafe-eval'"]


def test_presigned_s3_files_add_their_origin_to_images_media_and_frames() -> None:
    s3 = ("https://s3.example.com",)
    policy = _directives(
        csp.content_security_policy(
            origins=("https://guildhall.example",), script_hashes=(), file_origins=s3
        )
    )
    for directive in ("img-src", "media-src", "frame-src"):
        assert policy[directive][-1] == "https://s3.example.com", directive
    assert "https://s3.example.com" not in policy["connect-src"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, ()),  # local storage
        (
            {"s3_bucket": "b", "s3_endpoint_url": "http://127.0.0.1:9000/"},
            ("http://127.0.0.1:9000",),
        ),
        (
            {
                "s3_bucket": "b",
                "s3_endpoint_url": "https://minio.example/s3",
                "s3_proxy_downloads": True,
            },
            (),
        ),
        (
            {"s3_bucket": "media-bucket", "s3_region": "eu-west-1"},
            (
                "https://media-bucket.s3.amazonaws.com",
                "https://media-bucket.s3.eu-west-1.amazonaws.com",
            ),
        ),
        (
            {"s3_bucket": "media.example.org", "s3_region": "eu-west-1"},
            ("https://s3.amazonaws.com", "https://s3.eu-west-1.amazonaws.com"),
        ),
    ],
    ids=["local", "endpoint", "proxied", "aws", "aws-dotted-bucket"],
)
def test_the_file_origins_follow_the_storage_settings(
    settings_env: Callable[..., None], settings: dict[str, object], expected: tuple[str, ...]
) -> None:
    settings_env(**settings)
    assert csp.file_origins(get_settings()) == expected


def test_inline_script_hashes_are_read_from_the_built_pages(built: Path) -> None:
    (built / "404.html").write_text(f"<html><body><script>{INLINE}</script></body></html>")
    hashes = csp.inline_script_hashes(built)
    assert hashes == tuple(sorted({_sha(THEME), _sha(INLINE), _sha('import "/assets/entry.js";')}))


def test_no_build_means_no_hashes(tmp_path: Path) -> None:
    assert csp.inline_script_hashes(tmp_path / "missing") == ()
