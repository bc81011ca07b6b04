"""
The loop of a daemon's helper process (the store's writer), the other
end of L{twisted_bazaar.base.childprocess}: it reads
its requests from its standard input, every one the pipe holds at once,
hands them to its handler as one batch, and writes the answers to its
standard output, until it is told to end, its input ends, or its parent
ends.
"""

import ctypes
import os
import pickle
import select
import signal
import sys

from twisted_bazaar.base.pipeframes import Frames, frame

#: Bytes read from the pipe at once.
READ_SIZE = 1 << 16


def serve(handle, read_fd=0, write_fd=1, finish=None):
    """
    Run requests in batches until a close or the end of the input.

    @param handle: called with each batch, a list of the requests the
        pipe held (unpickled, at least one); returns (the answers, a
        list, whether a close was asked for).
    @param finish: called once the loop ends, before the last frame
        (None) says so.
    """
    frames, closing = Frames(), False
    while not closing:
        data = os.read(read_fd, READ_SIZE)
        if not data:
            break
        payloads = frames.feed(data)
        while select.select([read_fd], [], [], 0)[0]:
            more = os.read(read_fd, READ_SIZE)
            if not more:
                break
            payloads += frames.feed(more)
        if not payloads:
            continue
        answers, closing = handle([pickle.loads(payload) for payload in payloads])
        if answers:
            writeAll(write_fd, frame(answers))
    if finish is not None:
        finish()
    writeAll(write_fd, frame(None))


def writeAll(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


#: Signals a helper leaves to its parent: a Ctrl-C in the terminal of
#: ``twistd -n``, or a stop that signals the whole process group (a
#: service manager's), reaches both, and the parent then stops its
#: helpers, which finish what they were handed.  A helper ends when it
#: is told to, or when its parent is gone.  The parent starts it with
#: them blocked (L{twisted_bazaar.base.childprocess}), until
#: L{childMain} ignores them: one that came while its interpreter
#: started and imported (a third of a second on a busy machine) ended it
#: with KeyboardInterrupt, and its node with it.
PARENTS_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


#: prctl's option that has the kernel send this process a signal when
#: its parent ends (Linux).
PR_SET_PDEATHSIG = 1


def dieWithParent(parent):
    """
    End at once, killed by the kernel, when the parent process ``parent``
    ends however it ends, as a thread of it would have: the store's
    writer, say, then writes nothing after its node is gone, when a node
    restarted on the same data dir may have read its state already.  (Its
    input's end, which also ends the loop, comes only once this process
    reads again.)  Where prctl is missing (not Linux), the end of its
    input alone ends it.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        # The parent ended before the signal was asked for.
        os._exit(0)


def childMain(parent, run, errors, stopped):
    """
    A helper's life: bound to its parent's (pid ``parent``), deaf to its
    parent's signals, L{run} until it returns; one of the exception
    classes ``errors`` ends it with ``stopped: the error`` on its stderr
    (the line its parent reports) and exit status 1.
    """
    dieWithParent(int(parent))
    for number in PARENTS_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    # Blocked since its birth: one that came meanwhile is dropped now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, PARENTS_SIGNALS)
    try:
        run()
    except errors as e:
        sys.stderr.write(f"{stopped}: {e}\n")
        sys.exit(1)
