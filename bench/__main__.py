"""`make bench` (`python -m bench`): the live fan-out benchmark at N=100 and N=1000."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for learners in (100, 1000):
    subprocess.run(
        [
            sys.executable,
            str(HERE / "live_fanout.py"),
            "--learners",
            str(learners),
            "--watchers",
            "5",
        ],
        check=True,
    )
