"""``slo_violation_s`` is service-seconds out of SLO, summed over services, and is
printed and documented so: configs/google.toml with ``job = "*"`` showed
"SLO violated (s) 101,730" for a run of 5,400 s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simdc.metrics import HEADLINE, service_metrics

RELEASES = pd.DataFrame(columns=["service", "at_s", "end_s", "finished", "pulled_gib"])


def series(rows):
    """Controller rows ``(service, t_s, demand_cores, served_cores)``, replicas constant."""
    table = pd.DataFrame(rows, columns=["service", "t_s", "demand_cores", "served_cores"])
    return table.assign(ready=2, pods=2, desired=2)


def test_slo_violation_is_each_services_seconds_out_of_slo_summed():
    """By hand, over 1,000 s with a 99 % SLO: service a serves half its demand over
    [100, 300): 200 s; b serves 87.5 % over [200, 600): 400 s; they overlap over [200,
    300). Service-seconds: 200 + 400 = 600 (the time either was out: 500 s)."""
    rows = [("a", 0, 10, 10), ("a", 100, 10, 5), ("a", 300, 10, 10),
            ("b", 0, 4, 4), ("b", 200, 4, 3.5), ("b", 600, 4, 4)]
    got = service_metrics(series(rows), RELEASES, 1000.0, {"a": 0.99, "b": 0.99})
    assert got["slo_violation_s"] == pytest.approx(200 + 400)


def test_many_services_out_all_run_count_services_times_the_run():
    """Ten services, each under its SLO the whole 5,400 s: 54,000 service-seconds, which
    is why the label says service-s (the old "(s)" read as more than the run's length)."""
    rows = [(f"s{k}", 0, 2, 1) for k in range(10)]
    got = service_metrics(series(rows), RELEASES, 5400.0, {f"s{k}": 0.99 for k in range(10)})
    assert got["slo_violation_s"] == pytest.approx(10 * 5400)


def test_the_printed_label_and_the_readme_agree_it_is_service_seconds():
    label = dict((column, label) for column, label, _ in HEADLINE)["slo_violation_s"]
    assert label == "SLO violated (service-s)"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"*{label}*" in readme and "summed over the\nservices" in readme


def test_a_rise_while_already_short_is_waited_for_until_all_is_served():
    """By hand, 3,600 s: served fully until 2,480 s, short from then on (replicas lost, no
    rise), demand rising 4x at 3,000 s and never served: that rise waits 600 s, to the
    horizon (it was "–", as if no rise had left demand unserved). A rise served at once
    waits nothing and adds no wait; one short for 50 s waits 50 s."""
    rows = [("a", 0, 6, 6), ("a", 2480, 6, 2), ("a", 3000, 24, 2)]
    assert service_metrics(series(rows), RELEASES, 3600.0, {"a": 0.99})["catch_up_max_s"] == pytest.approx(600.0)
    rows = [("a", 0, 6, 6), ("a", 100, 12, 12), ("a", 200, 18, 10), ("a", 250, 18, 18)]
    assert service_metrics(series(rows), RELEASES, 3600.0, {"a": 0.99})["catch_up_max_s"] == pytest.approx(50.0)
    rows = [("a", 0, 6, 6), ("a", 100, 12, 12)]
    assert np.isnan(service_metrics(series(rows), RELEASES, 3600.0, {"a": 0.99})["catch_up_max_s"])

