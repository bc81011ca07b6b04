"""
Whether this process itself holds a port: a daemon given one port under
two of its options (``--listen tcp:9000 --relay-port 9000``) fails the
second with EADDRINUSE, which alone reads as another program's port
(the user looks for it, and finds none once the daemon has ended).

Read from Linux's ``/proc``: the process's sockets (``/proc/self/fd``)
against the kernel's tables of bound sockets (``/proc/net/tcp``, ``tcp6``,
``udp``, ``udp6``).  Elsewhere, or where they cannot be read, the answer
is no: the line then says what it said before.
"""

import os

__all__ = ["holds"]

#: The tables of each protocol's bound sockets, under /proc/net.
_TABLES = {False: ("tcp", "tcp6"), True: ("udp", "udp6")}


def holds(port, udp=False, proc="/proc"):
    """
    True if a socket of this process is bound to ``port`` (TCP, or UDP
    when ``udp``).  Never raises.
    """
    try:
        inodes = set(map(_socketInode, _links(os.path.join(proc, "self", "fd"))))
    except OSError:
        return False
    inodes.discard(None)
    for table in _TABLES[udp]:
        try:
            with open(os.path.join(proc, "net", table)) as rows:
                next(rows, None)
                for row in rows:
                    if _bound(row, port, inodes):
                        return True
        except OSError:
            continue
    return False


def _links(folder):
    """The targets of the links in folder (a descriptor closed meanwhile
    is left out)."""
    for name in os.listdir(folder):
        try:
            yield os.readlink(os.path.join(folder, name))
        except OSError:
            continue


def _socketInode(target):
    """``socket:[INODE]`` -> INODE (a str, as the tables write it)."""
    if target.startswith("socket:[") and target.endswith("]"):
        return target[len("socket:["):-1]
    return None


def _bound(row, port, inodes):
    """A table's row: its local port (``ADDRESS:PORT`` in hex) and inode."""
    fields = row.split()
    if len(fields) < 10:
        return False
    try:
        local = int(fields[1].rpartition(":")[2], 16)
    except ValueError:
        return False
    return local == port and fields[9] in inodes
