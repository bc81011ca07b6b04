"""
A Dask client of a ``--scheduler``, for ``bazaar-sim sweep`` and
``bazaar-sim --shards``: an address that is not ``tcp://HOST:PORT``,
refuses the connection, takes it and never answers, or answers in another
protocol, each refused in one line within L{SCHEDULER_TIMEOUT} (the
sharded run's own connect said "no Dask scheduler answered within 8 s" of
each, a refused one after the whole 8 s).
"""

import socket
import threading
import time
from urllib.parse import urlsplit

#: Seconds a --scheduler has to answer: the command, started, ends within 10 s.
SCHEDULER_TIMEOUT = 8.0
#: The Dask resource of memory: each worker declares its limit in bytes,
#: each run or shard what it needs.
MEMORY = "MEMORY"


class Unanswered(Exception):
    """A scheduler that cannot serve; the reason in one line."""


def connect(address, timeout=SCHEDULER_TIMEOUT):
    """
    A Dask client of the scheduler at address, and the memory the largest
    of its workers declares.

    @raise Unanswered: for a scheduler that does not answer within
        timeout, or a cluster no worker of which declares MEMORY.
    """
    from distributed import Client

    started = time.monotonic()
    probe(address, timeout)
    left = max(0.1, timeout - (time.monotonic() - started))
    try:
        client = _within(left, lambda: Client(address, timeout=left))
    except (OSError, TimeoutError) as e:
        raise Unanswered(f"--scheduler {address}: no answer within "
                         f"{timeout:g} s ({_firstLine(e)})") from None
    except Exception as e:
        # Whatever listens there does not speak Dask's protocol.
        raise Unanswered(f"--scheduler {address}: not a Dask scheduler "
                         f"({type(e).__name__}: {_firstLine(e)})") from None
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    largest = max((w.get("resources", {}).get(MEMORY, 0) for w in workers), default=0)
    if not largest:
        client.close()
        raise Unanswered(f"--scheduler {address}: no worker declares its memory; "
                         "start them with dask worker ADDRESS --nthreads 1 "
                         f"--resources {MEMORY}=BYTES")
    return client, largest


def probe(address, timeout):
    """
    Refuse a scheduler address where nothing answers a connection within
    timeout seconds (Dask's own connect keeps retrying a refused one until
    its timeout).

    @raise Unanswered: in one line.
    """
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return
    try:
        port = parts.port or 8786
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except ValueError:
        raise Unanswered(f"--scheduler {address}: not tcp://HOST:PORT") from None
    except OSError as e:
        raise Unanswered(f"--scheduler {address}: no answer ({e.strerror or e})") from None


def _within(seconds, make):
    """
    What make returns, if it returns within seconds (Dask's connect bounds
    the connection, not the handshake after it).

    @raise TimeoutError: if it does not.
    """
    outcome = {}

    def attempt():
        try:
            outcome["value"] = make()
        except Exception as e:
            outcome["error"] = e

    thread = threading.Thread(target=attempt, name="scheduler-connect", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError("no handshake")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _firstLine(error):
    return (str(error).splitlines() or [""])[0]
