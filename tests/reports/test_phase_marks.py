"""The chart marks each failover phase and the detection span, named as the terminal names
them, from the metrics it is given."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from matplotlib.text import Annotation

from probes.metrics import compute_metrics
from probes.phases import LABELS
from tests.probes.test_phases import stop_vm
from tests.reports.test_chart import artists, drawn


def test_each_phase_is_marked_where_it_happened_with_its_name() -> None:
    timeline = stop_vm()
    metrics = compute_metrics(timeline)
    t0 = float(timeline.capacity["time"].min())
    phases = metrics.failover_phases
    assert phases is not None
    (vm,) = phases.vms
    with drawn(timeline, metrics) as figure:
        for key, label in LABELS.items():
            (mark,) = artists(figure, f"phase_mark:{key}")
            assert mark.get_label() == label
            assert mark.get_xdata()[0] == pytest.approx(phases.times(vm)[key] - t0)
        (span,) = artists(figure, "detection")
        assert isinstance(span, Annotation)
        assert span.xy[0] == pytest.approx(vm.routing_stopped - t0)  # type: ignore[operator]
        (text,) = artists(figure, "detection:text")
        assert text.get_text() == "detection 12.5 s platform (0.25 s wall)"  # clock 0.02
        legend = {t.get_text() for t in figure.legends[0].get_texts()}
        assert set(LABELS.values()) <= legend


def test_never_and_nothing_are_drawn_as_such() -> None:
    timeline = stop_vm()
    metrics = compute_metrics(timeline)
    phases = metrics.failover_phases
    assert phases is not None
    never = replace(phases, vms=(replace(phases.vms[0], routing_stopped=math.inf),))
    with drawn(timeline, replace(metrics, failover_phases=never)) as figure:
        (text,) = artists(figure, "detection:text")
        assert text.get_text() == "LB never stopped routing"
        assert not artists(figure, "phase_mark:routing_stopped")
    with drawn(timeline, replace(metrics, failover_phases=None)) as figure:
        assert not artists(figure, "detection")
        assert not [a for key in LABELS for a in artists(figure, f"phase_mark:{key}")]
