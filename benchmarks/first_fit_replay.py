"""First fit's own cost on CloudSimPy's workload, apart from the engine around it.

    python benchmarks/first_fit_replay.py [--jobs-csv PATH] [--repeat 7]

Runs the ``cloudsimpy`` scenario's config once (``simdc.simulate``), recording every call
the engine makes to its :class:`~simdc.engine.first_fit.FirstFit` (``place(i)`` with its
pick; ``grew(j)`` and ``shrank(j)`` with host ``j``'s bookings after the change), then
replays those calls against a fresh FirstFit, ``--repeat`` times, and prints the best CPU
time (``time.process_time``) of the replay, the same replay with no-op calls (the
replay's own loop and call overhead: the difference is first fit's work), the hosts
room-tested, and whether every pick equals the recorded one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def record(config_path: Path):
    """One run of ``config_path``: its FirstFit's arguments (the bookings as they were
    then) and the calls made to it, in order."""
    import simdc
    import simdc.engine.placer as placer
    from simdc.config import load_config
    from simdc.engine.first_fit import FirstFit

    made, calls = [], []

    class Recorded(FirstFit):
        __slots__ = ()

        def __init__(self, booked_cpu, booked_mem, *args, **kwargs):
            made.append(((list(booked_cpu), list(booked_mem)) + args, kwargs))
            super().__init__(booked_cpu, booked_mem, *args, **kwargs)

        def place(self, i):
            j = super().place(i)
            calls.append((0, i, j, 0.0))
            return j

        def grew(self, j):
            calls.append((1, j, self.booked_cpu[j], self.booked_mem[j]))
            super().grew(j)

        def shrank(self, j):
            calls.append((2, j, self.booked_cpu[j], self.booked_mem[j]))
            super().shrank(j)

    placer.FirstFit = Recorded  # what the engine's Placer builds
    try:
        simdc.simulate(load_config(config_path, []))
    finally:
        placer.FirstFit = FirstFit
    if len(made) != 1:
        raise SystemExit(f"error: expected one first-fit placement in the run, found {len(made)}")
    return made[0], calls


def replay(made, calls, noop: bool):
    """(CPU s, picks) of ``calls`` replayed against a fresh FirstFit built as ``made``;
    ``noop``: the same loop with calls that do nothing (the picks recorded)."""
    from simdc.engine.first_fit import FirstFit

    args, kwargs = made
    booked_cpu, booked_mem = list(args[0]), list(args[1])
    fit = FirstFit(booked_cpu, booked_mem, *args[2:], **kwargs)
    place, grew, shrank = fit.place, fit.grew, fit.shrank
    if noop:
        picks = iter([j for kind, _, j, _ in calls if kind == 0])
        place = lambda i: next(picks)  # noqa: E731
        grew = shrank = lambda j: None  # noqa: E731
    out = []
    started = time.process_time()
    for kind, x, y, z in calls:
        if kind == 0:
            out.append(place(x))
        else:
            booked_cpu[x], booked_mem[x] = y, z
            (grew if kind == 1 else shrank)(x)
    return time.process_time() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs-csv", help="CloudSimPy's jobs.csv (default: from its mirror)")
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    import run

    with tempfile.TemporaryDirectory() as folder:
        jobs = run.cloudsimpy_jobs(options.jobs_csv, Path(folder))
        if jobs is None:
            raise SystemExit(f"error: no jobs.csv: give --jobs-csv (looked in {run.CLOUDSIMPY_MIRROR})")
        config = Path(folder) / "cloudsimpy.toml"
        config.write_text(run.CLOUDSIMPY_TOML.format(trace=jobs, start=run.CLOUDSIMPY_WINDOW_S[0],
                                                     stop=run.CLOUDSIMPY_WINDOW_S[1]))
        made, calls = record(config)
    expected = [j for kind, _, j, _ in calls if kind == 0]
    work = min(replay(made, calls, noop=False)[0] for _ in range(options.repeat))
    floor = min(replay(made, calls, noop=True)[0] for _ in range(options.repeat))
    same = replay(made, calls, noop=False)[1] == expected
    places = len(expected)
    print(f"first fit on CloudSimPy's workload: {places:,} placements, {len(calls) - places:,} grew/shrank; "
          f"replay {work:.3f} s CPU (best of {options.repeat}), with no-op calls {floor:.3f} s: first fit's "
          f"work {work - floor:.3f} s; same picks: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
