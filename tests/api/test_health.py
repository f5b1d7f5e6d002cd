"""`GET /health`: the database and, when configured, Redis; 503 when a part is down."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from app.api.routes import build_api
from app.settings import get_settings
from tests.conftest import Backend

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_api(), follow_redirects=False) as c:
        yield c


def _use_redis(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    # Not `settings_env`: it resets the rate limiter, which would connect to `url`.
    monkeypatch.setenv("GUILDHALL_REDIS_URL", url)
    get_settings.cache_clear()


def _test_redis_url() -> str:
    url = os.environ.get("GUILDHALL_TEST_REDIS_URL")
    if not url:
        message = (
            "Redis test server not configured (GUILDHALL_TEST_REDIS_URL unset). Run "
            "`bash scripts/testenv.sh start /tmp/tenv && source /tmp/tenv/env` first."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_health_reports_the_database(client: TestClient, backend: Backend) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "ok"
    expected = "postgresql" if backend.is_postgres else "sqlite"
    assert body["database"] == {"ok": True, "backend": expected}
    assert body["redis"] == {"ok": True, "configured": False}


def test_health_reports_redis_when_configured(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_redis(monkeypatch, _test_redis_url())
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["redis"] == {"ok": True}


def test_health_is_503_when_redis_is_down(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_redis(monkeypatch, f"redis://127.0.0.1:{_closed_port()}/0")
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is False
    assert body["redis"]["error"]  # the exception's class name, no connection details


def test_health_is_503_when_the_database_is_down(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SQLite file under /dev/null (not a directory) cannot be opened.
    monkeypatch.setenv("GUILDHALL_DATABASE_URL", "sqlite:////dev/null/guildhall.db")
    get_settings.cache_clear()
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is False
    assert "/dev/null" not in response.text  # no paths or URLs in the answer


def test_health_reports_local_storage(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["storage"] == {"ok": True, "backend": "LocalStorage"}


def test_health_is_503_when_the_object_store_is_unreachable(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUILDHALL_S3_BUCKET", "guildhall-health")
    monkeypatch.setenv("GUILDHALL_S3_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("GUILDHALL_S3_ACCESS_KEY", "test")
    monkeypatch.setenv("GUILDHALL_S3_SECRET_KEY", "test")
    get_settings.cache_clear()
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["storage"]["ok"] is False
    assert body["database"]["ok"] is True
