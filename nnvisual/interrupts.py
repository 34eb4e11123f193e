"""SIGINT / SIGTERM: a request that long loops honour at a safe point (training), or an immediate
KeyboardInterrupt (commands whose outputs are written only at the end)."""

import contextlib
import signal


class StopRequest:
    """Set when the user asked to stop; long loops check it between steps."""

    def __init__(self):
        self.signal_name: str | None = None

    @property
    def requested(self) -> bool:
        return self.signal_name is not None


@contextlib.contextmanager
def stop_on_signals():
    """Within the block, the first SIGINT/SIGTERM sets the request; a second one interrupts now."""
    request = StopRequest()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.signal_name = signal.Signals(signum).name

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield request
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def interrupt_on_signals():
    """Within the block, SIGINT and SIGTERM raise ``KeyboardInterrupt(signal name)`` at once."""

    def handler(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Interrupted(Exception):
    """Raised at a safe point after a stop was requested."""
