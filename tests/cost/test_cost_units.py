"""What a new user gets wrong in the [cost] table, said rather than priced silently: a
host group left without a price beside priced ones, a series in another unit than the
one it is read in, a time shown on another clock than the one it was written on, a
gzipped series, and a bound in another unit than the value it refuses."""

from __future__ import annotations

import gzip
import re
from datetime import datetime
from pathlib import Path

import pytest

from simdc import cost
from simdc.errors import InputError

HOUR_S = 3600.0


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def hourly(path: Path, values: list[float]) -> Path:
    return write(path, "time,price", [f"2023-06-01T{k:02d}:00:00Z,{v}" for k, v in enumerate(values)])


# --- 3. times shown on the clock they were written on ---------------------------------


def test_a_time_in_an_error_is_shown_in_the_series_timezone(tmp_path):
    """series_start 01:00 in Brussels (UTC+2 in June: 23:00 UTC the day before) before a
    series from 00:00 UTC (02:00 in Brussels). It said 'starts at 2023-06-01 00:00:00,
    after the run's start (cost.series_start = 2023-05-31 23:00:00)': UTC, unlabelled,
    so the user's own 01:00 read as 23:00."""
    path = hourly(tmp_path / "p.csv", [0.1, 0.11, 0.12])
    with pytest.raises(InputError) as err:
        cost.read_series(path, what="price", key="cost.price_series", duration_s=HOUR_S,
                         start=datetime(2023, 6, 1, 1), zone="Europe/Brussels")
    (problem,) = err.value.problems
    assert "starts at 2023-06-01 02:00:00+02:00[Europe/Brussels], after the run's start (cost.series_start = " \
           "2023-06-01 01:00:00+02:00[Europe/Brussels])" in problem
    with pytest.raises(InputError) as err:  # without a zone, every time is UTC and says so
        cost.read_series(path, what="price", key="cost.price_series", duration_s=HOUR_S,
                         start=datetime(2023, 5, 31, 23))
    assert "starts at 2023-06-01 00:00:00 UTC" in err.value.problems[0]


def test_every_time_in_a_series_message_is_labelled(tmp_path):
    """The other messages showing a time (a series too short, timestamps not increasing)
    show them in the zone too: 04:00 UTC is 06:00 in Brussels."""
    path = hourly(tmp_path / "p.csv", [0.1, 0.11, 0.12])  # 00:00 to 02:00 UTC, covering to 03:00
    with pytest.raises(InputError) as err:
        cost.read_series(path, what="price", key="k", duration_s=8 * HOUR_S, zone="Europe/Brussels")
    assert "ends at 2023-06-01 05:00:00+02:00[Europe/Brussels]" in err.value.problems[0]
    back = write(tmp_path / "b.csv", "time,price", ["2023-06-01T04:00:00Z,1", "2023-06-01T03:00:00Z,1"])
    with pytest.raises(InputError, match=re.escape("(2023-06-01 06:00:00+02:00[Europe/Brussels]): timestamps")):
        cost.read_series(back, what="price", key="k", duration_s=HOUR_S, zone="Europe/Brussels")


# --- 4. a gzipped series ---------------------------------------------------------------


def test_a_gzipped_series_reads_as_the_plain_one(tmp_path):
    """Traces are read through gzip; a series was refused as 'not UTF-8 text (byte 0x8b)'."""
    plain = hourly(tmp_path / "c.csv", [100, 110, 120])
    packed = tmp_path / "c.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    read = [cost.read_series(p, what="carbon intensity", key="cost.carbon_series", duration_s=2 * HOUR_S)
            for p in (plain, packed)]
    assert list(read[1].values) == list(read[0].values) == [100, 110]
    assert list(read[1].edges_s) == list(read[0].edges_s)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed.read_bytes()[:-12])  # an interrupted download
    with pytest.raises(InputError) as err:
        cost.read_series(cut, what="carbon intensity", key="cost.carbon_series", duration_s=2 * HOUR_S)
    (problem,) = err.value.problems
    assert problem.startswith(f"cost.carbon_series {cut}: ") and "0x8b" not in problem
