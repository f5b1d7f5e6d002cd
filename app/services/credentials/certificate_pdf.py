"""The certificate PDF: a branded one-page landscape A4 page (rendered without database or
storage), and the org logo it shows."""

from __future__ import annotations

import io
import logging
from typing import Any

from app.models.base import as_utc
from app.models.certificate import Certificate
from app.services.config.schema import Branding
from app.services.core.errors import ServiceError
from app.services.credentials.certificate_verify import verification_url
from app.services.infra import storage

log = logging.getLogger(__name__)

# Radix accent colours (the org's `branding.primary_color`) as print colours (step 9).
ACCENT_HEX: dict[str, str] = {
    "tomato": "#E54D2E",
    "red": "#E5484D",
    "ruby": "#E54666",
    "crimson": "#E93D82",
    "pink": "#D6409F",
    "plum": "#AB4ABA",
    "purple": "#8E4EC6",
    "violet": "#6E56CF",
    "iris": "#5B5BD6",
    "indigo": "#3E63DD",
    "blue": "#0090FF",
    "cyan": "#00A2C7",
    "teal": "#12A594",
    "jade": "#29A383",
    "green": "#30A46C",
    "grass": "#46A758",
    "brown": "#AD7F58",
    "orange": "#F76B15",
    "sky": "#7CE2FE",
    "mint": "#86EAD4",
    "lime": "#BDEE63",
    "yellow": "#FFE629",
    "amber": "#FFC53D",
    "gold": "#978365",
    "bronze": "#A18072",
    "gray": "#8D8D8D",
}
# Light accents are unreadable as text on white: print these darker (their step 11).
_TEXT_HEX: dict[str, str] = {
    "sky": "#00749E",
    "mint": "#027864",
    "lime": "#5C7C2F",
    "yellow": "#9E6C00",
    "amber": "#AB6400",
}
DEFAULT_ACCENT = "#3E63DD"


# --------------------------------------------------------------------------- the logo


def logo_bytes(branding: Branding) -> bytes | None:
    """The org's uploaded logo (a public stored file), or None. Logos given as outside
    https:// addresses are not fetched (the server makes no outbound requests for them)."""
    url = branding.logo_url
    if not url.startswith("/files/"):
        return None
    key = url[len("/files/") :]
    scope = storage.key_scope(key)
    if scope is None or scope.visibility != "public":
        return None
    try:
        data, _type = storage.get_storage().get(key)
    except (ServiceError, OSError):
        return None
    return data if storage.sniff_image(data) else None


# --------------------------------------------------------------------------- the PDF


def _hex(branding: Branding, *, text: bool = False) -> str:
    name = branding.primary_color
    if text and name in _TEXT_HEX:
        return _TEXT_HEX[name]
    return ACCENT_HEX.get(name, DEFAULT_ACCENT)


def _fonts(*texts: str) -> tuple[str, str]:
    """(regular, bold) font names: the PDF standard fonts, or DejaVu when a name needs
    characters they lack and the font is installed."""
    try:
        for t in texts:
            t.encode("cp1252")
        return "Helvetica", "Helvetica-Bold"
    except UnicodeEncodeError:
        pass
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    base = "/usr/share/fonts/truetype/dejavu/"
    try:
        if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("DejaVuSans", base + "DejaVuSans.ttf"))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", base + "DejaVuSans-Bold.ttf"))
        return "DejaVuSans", "DejaVuSans-Bold"
    except Exception:  # font not installed: fall back (some glyphs may be missing)
        return "Helvetica", "Helvetica-Bold"


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The largest size up to `size` at which `text` fits `width`."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    while size > 8 and stringWidth(text, font, size) > width:
        size -= 1
    return size


def render_pdf(cert: Certificate, branding: Branding, *, logo: bytes | None = None) -> bytes:
    """The certificate as a one-page landscape A4 PDF (pure: no database, no storage).

    Shows the issuer (name, logo, accent colour), "Certificate of completion", the learner,
    the course, the completion date, the expiry if any, the serial, the verification URL and
    a QR code of it. A revoked certificate is stamped REVOKED. Page streams are left
    uncompressed (the page is small, and its text stays searchable).
    """
    from reportlab.lib.colors import HexColor
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    width, height = landscape(A4)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(width, height), pageCompression=0)
    c.setTitle(f"Certificate of completion: {cert.course_title}")
    c.setAuthor(cert.issuer_name)
    c.setSubject(f"Serial {cert.serial}")
    accent = HexColor(_hex(branding))
    accent_text = HexColor(_hex(branding, text=True))
    dark = HexColor("#1C2024")
    muted = HexColor("#60646C")
    regular, bold = _fonts(cert.learner_name, cert.course_title, cert.issuer_name)

    top = _draw_header(
        c, cert, logo, accent=accent, dark=dark, bold=bold, width=width, height=height
    )

    # title, learner, course
    c.setFillColor(accent_text)
    c.setFont(bold, 34)
    c.drawCentredString(width / 2, top - 60, "Certificate of completion")
    c.setFillColor(muted)
    c.setFont(regular, 14)
    c.drawCentredString(width / 2, top - 95, "This certifies that")
    c.setFillColor(dark)
    c.setFont(bold, _fit(cert.learner_name, bold, 30, width - 160))
    c.drawCentredString(width / 2, top - 135, cert.learner_name)
    c.setFillColor(muted)
    c.setFont(regular, 14)
    c.drawCentredString(width / 2, top - 165, "has completed the course")
    c.setFillColor(dark)
    c.setFont(bold, _fit(cert.course_title, bold, 22, width - 160))
    c.drawCentredString(width / 2, top - 198, cert.course_title)

    issued = as_utc(cert.issued_at).strftime("%d %B %Y")
    c.setFont(regular, 12)
    c.setFillColor(dark)
    line = f"Completed on {issued}"
    if cert.expires_at is not None:
        line += f"  ·  Valid until {as_utc(cert.expires_at).strftime('%d %B %Y')}"
    c.drawCentredString(width / 2, top - 228, line)

    _draw_verification(c, cert, regular=regular, muted=muted, width=width)

    if cert.revoked_at is not None:
        _stamp_revoked(c, bold=bold, width=width, height=height)

    c.showPage()
    c.save()
    return buf.getvalue()


def _draw_header(
    c: Any,
    cert: Certificate,
    logo: bytes | None,
    *,
    accent: Any,
    dark: Any,
    bold: str,
    width: float,
    height: float,
) -> float:
    """The frame and the issuer (logo and name); returns the height of the issuer's name,
    which the rest of the face is laid out below."""
    from reportlab.lib.utils import ImageReader

    # frame
    c.setStrokeColor(accent)
    c.setLineWidth(6)
    c.rect(24, 24, width - 48, height - 48)
    c.setLineWidth(1)
    c.rect(36, 36, width - 72, height - 72)
    c.setFillColor(accent)
    c.rect(36, height - 60, width - 72, 24, stroke=0, fill=1)

    # issuer: logo and name
    top = height - 110
    if logo:
        try:
            image = ImageReader(io.BytesIO(logo))
            iw, ih = image.getSize()
            h = 56.0
            w = min(180.0, iw * h / ih) if ih else h
            c.drawImage(image, (width - w) / 2, top - 40, w, h, mask="auto")
            top -= 70
        except Exception:  # an unreadable logo leaves the name alone
            log.warning("certificate %s: logo not drawn", cert.serial, exc_info=True)
    c.setFillColor(dark)
    c.setFont(bold, _fit(cert.issuer_name, bold, 20, width - 160))
    c.drawCentredString(width / 2, top, cert.issuer_name)
    return top


def _draw_verification(
    c: Any, cert: Certificate, *, regular: str, muted: Any, width: float
) -> None:
    """The serial, the verification link and a QR code of it, along the bottom."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    url = verification_url(cert.serial)
    c.setFont(regular, 10)
    c.setFillColor(muted)
    c.drawString(60, 84, f"Serial: {cert.serial}")
    c.drawString(60, 68, f"Verify at {url}")
    qr = QrCodeWidget(url)
    x0, y0, x1, y1 = qr.getBounds()
    size = 84.0
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, c, width - 60 - size, 52)


def _stamp_revoked(c: Any, *, bold: str, width: float, height: float) -> None:
    """REVOKED across the page, in red."""
    from reportlab.lib.colors import HexColor

    c.saveState()
    c.setFillColor(HexColor("#E5484D"))
    c.setFont(bold, 90)
    c.translate(width / 2, height / 2)
    c.rotate(20)
    c.drawCentredString(0, 0, "REVOKED")
    c.restoreState()
