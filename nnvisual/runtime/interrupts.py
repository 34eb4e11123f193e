"""SIGINT / SIGTERM: a request that long loops honour at a safe point (training), or an immediate
KeyboardInterrupt (commands whose outputs are written only at the end)."""

import contextlib
import gc
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


_pending: str | None = None  # the signal interrupt_on_signals received, until its block ends


@contextlib.contextmanager
def interrupt_on_signals():
    """Within the block, SIGINT and SIGTERM raise ``KeyboardInterrupt(signal name)`` at once.

    Python runs the handler wherever the main thread is. Inside a garbage-collector callback or
    a ``__del__`` method (JAX registers a gc callback) an exception is printed with a traceback
    and then ignored, so there the handler only records the signal; :func:`check_interrupt`,
    which long loops call every step, raises it.
    """

    def handler(signum, frame):
        global _pending
        _pending = signal.Signals(signum).name
        if not _inside_ignored_context(frame):
            raise KeyboardInterrupt(_pending)

    global _pending
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _pending = None


def _inside_ignored_context(frame) -> bool:
    """Whether ``frame`` runs in a gc callback or a ``__del__``, where exceptions are dropped."""
    callbacks = {getattr(callback, "__code__", None) for callback in gc.callbacks}
    while frame is not None:
        if frame.f_code in callbacks or frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def pending() -> str | None:
    """The name of the signal received inside :func:`interrupt_on_signals`' block (None before
    one, and outside the block). An error raised while one is pending is the signal's
    KeyboardInterrupt turned into another exception by the C code it was raised in (TensorFlow's
    conversion of a NumPy array gave ``SystemError: ... returned a result with an exception
    set``)."""
    return _pending


def check_interrupt() -> None:
    """Raise ``KeyboardInterrupt`` if a signal arrived inside :func:`interrupt_on_signals` and
    its exception was lost on the way (call it at safe points of long loops)."""
    if _pending is not None:
        raise KeyboardInterrupt(_pending)


class Interrupted(Exception):
    """Raised at a safe point after a stop was requested."""
