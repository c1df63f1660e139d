"""Signals during a fault: the first raises Interrupted; during reverts they are deferred."""

from __future__ import annotations

import os
import signal

import pytest

from fleet.signals import revert_on_signals
from flexchaos.errors import Interrupted


def test_first_signal_raises_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as info, revert_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
    assert info.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_signal_during_reverts_is_raised_after_them() -> None:
    done: list[str] = []
    with pytest.raises(Interrupted) as info, revert_on_signals() as state, state.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("revert finished")
    assert done == ["revert finished"] and info.value.signum == signal.SIGINT


def test_no_signal_no_exception() -> None:
    with revert_on_signals() as state, state.deferred():
        pass
    assert state.fired is None
