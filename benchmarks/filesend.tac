# twistd -n -y filesend.tac: the bare FileSender baseline of transfer.py.
# Serves the file whose path is in ./filesend.path to each connection,
# whole, with twisted.protocols.basic.FileSender, then closes it.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.transfer import fileSenderApplication  # noqa: E402

with open("filesend.path", encoding="utf-8") as f:
    application = fileSenderApplication(f.read())
