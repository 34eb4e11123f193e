"""Signals: an interrupt that Python would drop (inside a gc callback) is raised at the next check."""

import gc
import os
import signal
import sys

import pytest

from nnvisual.runtime import interrupts


def test_a_signal_raises_keyboard_interrupt_at_once_and_the_handlers_come_back():
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), interrupts.interrupt_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):  # the handler runs at the next bytecode
            pass
    assert signal.getsignal(signal.SIGTERM) is previous
    interrupts.check_interrupt()  # nothing pending once the block is left


def test_a_signal_inside_a_gc_callback_is_kept_for_the_next_check(monkeypatch):
    dropped = []  # what Python prints as "Exception ignored in ..." and then drops
    monkeypatch.setattr(sys, "unraisablehook", dropped.append)

    def callback(phase, info):
        if phase == "start":
            os.kill(os.getpid(), signal.SIGINT)  # delivered while this callback runs
            for _ in range(10**5):
                pass

    gc.callbacks.append(callback)
    try:
        with interrupts.interrupt_on_signals():
            gc.collect()  # Python would print and drop an exception raised in the callback
            assert dropped == []
            gc.callbacks.remove(callback)
            with pytest.raises(KeyboardInterrupt, match="SIGINT"):
                interrupts.check_interrupt()
    finally:
        if callback in gc.callbacks:
            gc.callbacks.remove(callback)


def test_a_signal_that_c_code_turned_into_another_error_still_interrupts_the_run(tmp_path):
    """TensorFlow, converting a NumPy array, can turn the handler's KeyboardInterrupt into
    ``SystemError: ... returned a result with an exception set``: the run is still interrupted."""
    import click

    from nnvisual import runs
    from nnvisual.commands.options import interruptible
    from nnvisual.testing.run_files import read_manifest

    run = runs.create_run("attribute", "x", {}, out=tmp_path / "run")
    with pytest.raises(click.exceptions.Exit) as stopped, interruptible(run, resume="attribute"):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10**6):  # the handler runs at the next bytecode
                pass
        except KeyboardInterrupt as exc:
            raise SystemError("<built-in method __array__> returned a result with an exception set") from exc
    assert stopped.value.exit_code == 130
    assert read_manifest(tmp_path / "run")["status"] == "interrupted"
