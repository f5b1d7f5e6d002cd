"""The org logo: an uploaded image stored publicly, inherited, and other content refused."""

from __future__ import annotations

from typing import Any

import pytest

from app.services.config import logo
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import tenant_session
from tests import factories as f
from tests.services.config.helpers import family, view_of

pytestmark = pytest.mark.usefixtures("backend")


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def storage_dir(tmp_path: Any, settings_env: Any) -> Any:
    settings_env(storage_dir=str(tmp_path / "files"))
    return tmp_path / "files"


def test_logo_upload_stores_a_public_file_and_sets_the_url(storage_dir: Any) -> None:
    from app.services.infra import storage

    parent, child_id, _ = family()
    with tenant_session(parent.ctx) as session:
        config = logo.set_logo(session, parent.ctx, org_id=parent.org_id, data=PNG)
    url = config.branding.logo_url
    assert url.startswith(f"/files/public/org/{parent.org_id}/logo-") and url.endswith(".png")
    data, content_type = storage.get_storage().get(url.removeprefix("/files/"))
    assert (data, content_type) == (PNG, "image/png")
    # The child inherits the logo like any branding value.
    inherited = view_of(parent.ctx, child_id)["branding"]["logo_url"]
    assert (inherited.value, inherited.source) == (url, parent.ctx.org_name)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (SVG, "SVG is not accepted"),
        (b"GIF89a" + b"\x00" * 20, "PNG, JPEG or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 1_000_000, "too large"),
    ],
)
def test_logo_upload_refuses_other_content(storage_dir: Any, data: bytes, words: str) -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session, pytest.raises(ValidationFailed) as refused:
        logo.set_logo(session, admin.ctx, org_id=admin.org_id, data=data)
    assert refused.value.field == "branding.logo_url"
    assert words in refused.value.message
    assert view_of(admin.ctx, admin.org_id)["branding"]["logo_url"].value == ""
    assert not storage_dir.exists() or not any(p.is_file() for p in storage_dir.rglob("*"))
