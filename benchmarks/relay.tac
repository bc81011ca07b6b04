# twistd -n -y relay.tac: the bare relay baseline (see baselines.py).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.baselines import application  # noqa: E402

application = application("relay")
