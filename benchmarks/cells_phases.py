"""The driver's memory by phase in a fleet of cells on 2 local workers (issue #20).

    python benchmarks/cells_phases.py CELLS DAYS      # e.g. 8 0.25

Prints the driver's RSS and its peak so far, as (RSS, peak) in MiB
(``/proc/self/status``: VmRSS, VmHWM), as the cells come back, before each table is
joined, and around the summary. The fleet is benchmarks/run.py's ``cells`` scenario
(the capacity study as cells of 100 hosts). Linux only.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import simdc.cells as cells_module  # noqa: E402
from run import cells_config  # noqa: E402


def rss_mib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process, MiB."""
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def main() -> None:
    cells, days = int(sys.argv[1]), float(sys.argv[2])
    config = cells_config(cells, 100, days * 86400)
    join, summary = cells_module._join, cells_module.summary_from_parts

    def joined(parts, target):
        print(f"before the join of {target.name}: {rss_mib()}", flush=True)
        join(parts, target)

    def summarised(*args, **kwargs):
        print(f"before the summary: {rss_mib()}", flush=True)
        result = summary(*args, **kwargs)
        print(f"after the summary: {rss_mib()}", flush=True)
        return result

    cells_module._join, cells_module.summary_from_parts = joined, summarised
    print(f"start: {rss_mib()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        cells_module.run_cells(config, folder, workers=2,
                               progress=lambda done, total: print(f"cells {done}/{total}: {rss_mib()}", flush=True))
    print(f"end: {rss_mib()}", flush=True)


if __name__ == "__main__":
    main()
