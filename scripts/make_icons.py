"""Draw Guildhall's app icons (favicon, home-screen icons) into assets/.

Run once when the mark changes: `.venv/bin/python scripts/make_icons.py`. The mark is a
hall: a roof, three columns and a step, white on the brand indigo, drawn with shapes so
it needs no font. Pillow comes with reportlab (certificates)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parents[1] / "assets"
INDIGO = (62, 99, 221, 255)  # the theme colour (#3e63dd)
WHITE = (255, 255, 255, 255)


def mark(size: int, *, maskable: bool = False) -> Image.Image:
    """The icon at `size` px; `maskable` keeps the mark inside the safe zone (80 %)."""
    scale = 4  # draw large, then shrink: smooth edges without anti-aliasing support
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=INDIGO)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.22, fill=INDIGO)
    inset = 0.24 if maskable else 0.18
    left, right = big * inset, big * (1 - inset)
    top, bottom = big * (inset + 0.02), big * (1 - inset)
    width = right - left
    roof_bottom = top + (bottom - top) * 0.34
    draw.polygon([(left, roof_bottom), (left + width / 2, top), (right, roof_bottom)], fill=WHITE)
    column_top = roof_bottom + (bottom - top) * 0.06
    step_top = bottom - (bottom - top) * 0.12
    column = width * 0.16
    for i in range(3):
        x = left + width * (0.1 + i * 0.32)
        draw.rectangle((x, column_top, x + column, step_top - (bottom - top) * 0.04), fill=WHITE)
    draw.rectangle((left, step_top, right, bottom), fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write the favicon, the apple touch icon and the manifest's icons."""
    mark(192).save(ASSETS / "icon-192.png")
    mark(512).save(ASSETS / "icon-512.png")
    mark(512, maskable=True).save(ASSETS / "icon-maskable-512.png")
    mark(180, maskable=True).save(ASSETS / "apple-touch-icon.png")
    mark(64).save(ASSETS / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])


if __name__ == "__main__":
    main()
