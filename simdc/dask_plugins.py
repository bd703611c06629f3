"""What simdc installs in the workers of its own local Dask cluster.

A module of its own: its class derives from Dask's, and importing :mod:`simdc.sweeping`
must not import Dask (a sweep on one worker runs without it, issue #16). The workers
import it when they unpickle the plugin.
"""

from __future__ import annotations

import logging

from distributed.diagnostics.plugin import WorkerPlugin

# Dask's loggers, and those of the event loop it runs on (as simdc.sweeping silences them
# in the sweep's own process)
LOGGERS = ("distributed", "tornado")


class QuietClose(WorkerPlugin):
    """A worker being closed says nothing more on stderr.

    ``Worker.close`` (distributed/worker.py) tears the worker's plugins down first, then
    stops its heartbeat and closes its connections to the scheduler: a heartbeat still
    waiting for its answer then fails, and ``Worker.heartbeat`` logs "Failed to
    communicate with scheduler during heartbeat." at ERROR with two ``CommClosedError``
    tracebacks (seen: 74 lines before a sweep's one-line error, once in ~17 sweeps on a
    loaded machine). Nothing a closing worker of simdc's cluster logs is news: a run's
    error came back to the sweep as the run's result, and a lost worker or scheduler is
    said by the sweep. What a worker logs before its close still shows.
    """

    name = "simdc-quiet-close"

    def teardown(self, worker) -> None:
        names = [name for name in list(logging.root.manager.loggerDict) if name.split(".")[0] in LOGGERS]
        for name in (*LOGGERS, *names):  # the process is closing: not put back
            logging.getLogger(name).setLevel(logging.CRITICAL)
