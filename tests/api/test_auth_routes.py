"""The session-cookie routes: `/api/auth/complete` (ticket -> cookie) and sign-out."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import update
from sqlmodel import col
from starlette.testclient import TestClient

from app.models.base import utcnow
from app.models.user import LoginTicket
from app.services.core.security import token_hash
from app.services.core.tenancy import public_session
from app.services.people import auth
from app.settings import get_settings
from tests import factories as f
from tests.api.helpers import BASE

pytestmark = pytest.mark.usefixtures("backend")

# What a browser sends with the sign-out form of our own pages (the Origin check wants it).
SAME_ORIGIN = {"origin": BASE}


def _ticket(email: str, password: str = f.PASSWORD) -> str:
    with public_session() as session:
        return auth.do_sign_in(session, email=email, password=password, ip=f.IP, user_agent="t")


def _cookie_header(token: str) -> dict[str, str]:
    return {"cookie": f"{get_settings().session_cookie_name}={token}"}


def _session_cookies(response: object) -> list[SimpleCookie]:
    """Each `Set-Cookie` of the session cookie, parsed."""
    name = get_settings().session_cookie_name
    found = []
    for raw in response.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        jar: SimpleCookie = SimpleCookie()
        jar.load(raw)
        if name in jar:
            found.append(jar)
    return found


def _new_session_token(response: object) -> str:
    (jar,) = _session_cookies(response)
    morsel = jar[get_settings().session_cookie_name]
    assert morsel.value, "the cookie has no value"
    return morsel.value


def _browser_target(location: str) -> tuple[str, str]:
    """(host, path) a browser would go to for this Location, sent from our site.

    Browsers strip tabs and newlines from URLs and read a backslash as a slash, so an
    innocent-looking `/\\evil.example` or `/\t/evil.example` can leave the site.
    """
    cleaned = "".join(ch for ch in location if ch not in "\t\n\r").replace("\\", "/")
    target = urlsplit(urljoin(BASE + "/signin", cleaned))
    return target.netloc, target.path


# --------------------------------------------------------------------------- complete


def test_valid_ticket_sets_an_httponly_lax_cookie_and_redirects_to_next(
    client: TestClient,
) -> None:
    admin = f.new_admin()
    response = f.complete_sign_in(client, _ticket(admin.email), next="/admin/members?org=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/members?org=x"
    assert response.headers["cache-control"] == "no-store"

    (jar,) = _session_cookies(response)
    morsel = jar[get_settings().session_cookie_name]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) == get_settings().session_absolute_hours * 3600
    assert not morsel["secure"]  # served over plain http here

    ctx = f.resolve(morsel.value)
    assert ctx is not None
    assert (ctx.user_id, ctx.org_id) == (admin.user_id, admin.org_id)


def test_cookie_is_secure_when_the_site_is_https(client: TestClient, settings_env) -> None:
    settings_env(base_url="https://guildhall.example")
    admin = f.new_admin()
    response = f.complete_sign_in(client, _ticket(admin.email))
    (jar,) = _session_cookies(response)
    assert jar[get_settings().session_cookie_name]["secure"] is True


def test_no_next_goes_to_the_dashboard(client: TestClient) -> None:
    admin = f.new_admin()
    response = f.complete_sign_in(client, _ticket(admin.email))
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"


@pytest.mark.parametrize(
    "unsafe",
    [
        "https://evil.example",
        "https://evil.example/dashboard",
        "//evil.example",
        "//evil.example/dashboard",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_an_off_site_next_is_replaced_by_the_dashboard(client: TestClient, unsafe: str) -> None:
    admin = f.new_admin()
    response = f.complete_sign_in(client, _ticket(admin.email), next=unsafe)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    assert _new_session_token(response)


@pytest.mark.parametrize("tricky", ["/\t/evil.example", "/\n/evil.example", "/%2F/evil.example"])
def test_a_next_that_browsers_would_rewrite_still_stays_on_the_site(
    client: TestClient, tricky: str
) -> None:
    admin = f.new_admin()
    response = f.complete_sign_in(client, _ticket(admin.email), next=tricky)
    assert response.status_code == 303
    host, _path = _browser_target(response.headers["location"])
    assert host == urlsplit(BASE).netloc, response.headers["location"]


def _assert_refused(response: object) -> None:
    assert response.status_code == 303  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    assert location.startswith("/signin?error=")
    assert location.split("=", 1)[1]  # a code the page can explain
    assert not any(
        jar[get_settings().session_cookie_name].value for jar in _session_cookies(response)
    ), "a refused ticket set a session cookie"


def test_a_used_ticket_redirects_to_signin_without_a_cookie(client: TestClient) -> None:
    admin = f.new_admin()
    ticket = _ticket(admin.email)
    first = f.complete_sign_in(client, ticket)
    assert _new_session_token(first)
    again = f.complete_sign_in(client, ticket)
    _assert_refused(again)


@pytest.mark.parametrize("bogus", ["", "not-a-ticket", "x" * 500])
def test_a_bogus_ticket_redirects_to_signin_without_a_cookie(
    client: TestClient, bogus: str
) -> None:
    _assert_refused(f.complete_sign_in(client, bogus))


def test_a_missing_ticket_redirects_to_signin(client: TestClient) -> None:
    _assert_refused(f.complete_sign_in(client, None))


def test_an_expired_ticket_redirects_to_signin(client: TestClient) -> None:
    admin = f.new_admin()
    ticket = _ticket(admin.email)
    with public_session() as session:
        session.execute(
            update(LoginTicket)
            .where(col(LoginTicket.ticket_hash) == token_hash(ticket))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    _assert_refused(f.complete_sign_in(client, ticket))


def test_an_existing_cookie_is_rotated(client: TestClient) -> None:
    admin = f.new_admin()  # admin.token: the session this browser already has
    response = f.complete_sign_in(client, _ticket(admin.email), session_token=admin.token)
    new_token = _new_session_token(response)
    assert new_token != admin.token
    assert f.resolve(admin.token) is None, "the old session still works"
    assert f.resolve(new_token) is not None


def test_a_ticket_without_its_binding_cookie_is_refused(client: TestClient) -> None:
    """Login CSRF: a ticket link sent to someone else's browser does not sign it in."""
    admin = f.new_admin()
    ticket = _ticket(admin.email)
    _assert_refused(f.complete_sign_in(client, ticket, bind=False))
    other = _ticket(admin.email)
    forged = {"cookie": f"{auth.LOGIN_BINDING_COOKIE}={auth.ticket_binding(other)}"}
    _assert_refused(client.get("/api/auth/complete", params={"ticket": ticket}, headers=forged))
    # The rightful browser can still use it: refusal did not consume the ticket.
    assert _new_session_token(f.complete_sign_in(client, ticket))


def test_a_refused_ticket_leaves_the_current_session_alone(client: TestClient) -> None:
    admin = f.new_admin()
    response = f.complete_sign_in(client, "bogus", session_token=admin.token)
    _assert_refused(response)
    assert f.resolve(admin.token) is not None


# --------------------------------------------------------------------------- sign-out


def test_signout_revokes_the_session_and_deletes_the_cookie(client: TestClient) -> None:
    admin = f.new_admin()
    other_browser = f.sign_in_token(admin.email)
    response = client.post(
        "/api/auth/signout", headers={**_cookie_header(admin.token), **SAME_ORIGIN}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"

    (jar,) = _session_cookies(response)
    morsel = jar[get_settings().session_cookie_name]
    assert morsel.value == ""
    assert int(morsel["max-age"]) == 0
    assert morsel["path"] == "/"

    with public_session() as session:
        assert auth.resolve(session, admin.token) is None
    assert f.resolve(other_browser) is not None, "sign-out ended another browser's session"


def test_signout_without_a_cookie_just_clears_it(client: TestClient) -> None:
    response = client.post("/api/auth/signout", headers=SAME_ORIGIN)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    assert _session_cookies(response)


def test_signout_with_a_stale_cookie_is_harmless(client: TestClient) -> None:
    response = client.post(
        "/api/auth/signout", headers={**_cookie_header("forged-token"), **SAME_ORIGIN}
    )
    assert response.status_code == 303


def test_signout_is_post_only(client: TestClient) -> None:
    """A GET (an <img src>, a link) must not sign anyone out."""
    admin = f.new_admin()
    response = client.get("/api/auth/signout", headers=_cookie_header(admin.token))
    assert response.status_code == 405
    assert f.resolve(admin.token) is not None
