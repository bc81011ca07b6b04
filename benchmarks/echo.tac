# twistd -n -y echo.tac: the bare echo baseline (see baselines.py).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.baselines import application  # noqa: E402

application = application("echo")
