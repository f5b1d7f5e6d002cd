"""`make bench` (`python -m bench`): the live fan-out benchmark at N=100 and N=1000, each
learner acting at once (a burst), then N=1000 paced at 50 actions per second (a busy class
working steadily)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for learners, rate in ((100, 0), (1000, 0), (1000, 50)):
    subprocess.run(
        [
            sys.executable,
            str(HERE / "live_fanout.py"),
            "--learners",
            str(learners),
            "--watchers",
            "5",
            "--rate",
            str(rate),
        ],
        check=True,
    )
