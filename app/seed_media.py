"""Demo media made on the spot: a short test-card video and a one-page PDF handout.

Used by the demo seed and by the end-to-end tests (which upload them like an instructor
would), so neither needs binary files in the repository. The video comes from the static
ffmpeg that `imageio-ffmpeg` ships on PyPI (no system packages).
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def demo_video(seconds: int = 20, *, fmt: str = "webm") -> bytes:
    """A small test-card video with a running clock (`webm`: VP8, `mp4`: H.264)."""
    codec = (
        ["-c:v", "libvpx", "-b:v", "80k"]
        if fmt == "webm"
        else [
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
        ]
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"demo.{fmt}"
        subprocess.run(  # noqa: S603 (fixed arguments, our own binary)
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"testsrc=duration={seconds}:size=320x180:rate=10",
                *codec,
                "-y",
                str(out),
            ],
            check=True,
            timeout=120,
        )
        return out.read_bytes()


def demo_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF handout with a title and a few lines of text."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    _width, height = A4
    pdf.setFont("Helvetica-Bold", 20)
    pdf.drawString(60, height - 80, title)
    pdf.setFont("Helvetica", 12)
    for i, line in enumerate(lines):
        pdf.drawString(60, height - 120 - 18 * i, line)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
