"""What the workload is: a trace file in simdc's format, or the synthetic generator."""

from __future__ import annotations

import os

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from simdc.model import limits
from simdc.model.base import Spec
from simdc.model.distribution import Distribution, _check_cdf


class SizeClass(Spec):
    """One instance size of the mix: vCPUs (or CPU request) and memory (VM size or request)."""

    cpu_cores: float = Field(gt=0, le=limits.MAX_HOST_CPU_CORES)
    memory_gib: float = Field(gt=0, le=limits.MAX_HOST_MEMORY_GIB)
    weight: float = Field(gt=0, description="relative frequency; weights need not sum to 1")


# Azure 2017 VM sizes. The trace analysis notebook gives the marginals, cores
# 1 ≈ 50 %, 2 ≈ 25 %, 4 ≈ 11 %, 8 ≈ 14 %, and memory 0.75 GB ≈ 2 %, 1.75 ≈ 48 %,
# 3.5 ≈ 25 %, 7 ≈ 11 %, 14 ≈ 10 %, 56 ≈ 4 % (Azure Public Dataset V1 analysis notebook,
# read from charts ±3 points). Azure's A-series pairs them exactly: A0 1×0.75, A1 1×1.75,
# A2 2×3.5, A3 4×7, A4 8×14, A7 8×56; those pairs reproduce both marginals.
AZURE_2017_SIZES: tuple[SizeClass, ...] = (
    SizeClass(cpu_cores=1, memory_gib=0.75, weight=0.02),
    SizeClass(cpu_cores=1, memory_gib=1.75, weight=0.48),
    SizeClass(cpu_cores=2, memory_gib=3.5, weight=0.25),
    SizeClass(cpu_cores=4, memory_gib=7.0, weight=0.11),
    SizeClass(cpu_cores=8, memory_gib=14.0, weight=0.10),
    SizeClass(cpu_cores=8, memory_gib=56.0, weight=0.04),
)


HOUR_S = 3600.0
# Azure 2017 VM lifetimes: [seconds, share of VMs living at most that long]. Read from
# the "VM Lifetime" CDF (dashed line: the public trace) of the Azure Public Dataset V1
# analysis notebook (Azure/AzurePublicDataset, analysis/"Azure Public Dataset - Trace
# Analysis.ipynb" @ b469a11), digitised from the plot's pixels: 0.45 h and 0.3 points a
# pixel, so ±1 point where the curve is flat and ±3 points below 2 h, where it is steep.
# It gives ≈ 88 % under 24 h and ≈ 93 % under 200 h (CALIBRATION.md: ≈ 87 %, ≈ 93 %).
# The ends are not on the chart:
# - below 30 min: the notebook floors lifetimes at 300 s (the trace's 5-minute
#   resolution), so the CDF starts there, log-linear up to the 39 % read at 30 min;
# - beyond 200 h (where the chart stops): the trace covers 30 days, so no lifetime
#   exceeds 720 h; the share ending at exactly 720 h (alive for the whole trace, 5.4 %)
#   makes the mean 51.8 h, the notebook's 104,371,713 VM-hours over 2,013,767 VMs.
#   A run longer than 30 days sees those VMs end at 30 days: a lower bound.
# Median 45 min, mean 51.8 h. A lognormal cannot hold both the short bulk and this tail.
AZURE_2017_LIFETIME_CDF_S: tuple[tuple[float, float], ...] = (
    (300.0, 0.0),
    (0.5 * HOUR_S, 0.39),
    (1 * HOUR_S, 0.58),
    (2 * HOUR_S, 0.66),
    (3 * HOUR_S, 0.68),
    (4 * HOUR_S, 0.71),
    (5 * HOUR_S, 0.73),
    (8 * HOUR_S, 0.775),
    (12 * HOUR_S, 0.815),
    (16 * HOUR_S, 0.85),
    (24 * HOUR_S, 0.88),
    (30 * HOUR_S, 0.89),
    (60 * HOUR_S, 0.908),
    (150 * HOUR_S, 0.924),
    (200 * HOUR_S, 0.928),
    (720 * HOUR_S, 0.946),
    (720 * HOUR_S, 1.0),
)


# Azure 2019: each VM's average CPU (% of its cores, vmtable column avg_cpu) over the 500
# VMs of traces/azure_v2_2019/vmtable_subset_500vms.csv, as [fraction, cumulative share]:
# numpy.quantile (linear) of avg_cpu / 100 at shares 0, 0.05, ..., 0.95, 0.975, 0.99, 1
# (tests/workload/test_usage_calibration.py recomputes them). Log-linear between points
# (as Distribution's cdf), it has mean 9.40 % (the VMs': 9.39 %), median 6.94 % and
# quartiles 3.58-10.56 %, as the file. No two-parameter family holds those: Beta(0.564,
# 5.436), the former default, has the mean but median 5.28 % and quartiles 1.4-13.5 %.
# The 500 all live the whole month (traces/README.md): long-lived VMs' means, an assumption
# for short ones.
AZURE_2019_CPU_MEAN_CDF: tuple[tuple[float, float], ...] = (
    (0.0015, 0.0), (0.0112, 0.05), (0.0182, 0.1), (0.0242, 0.15), (0.0307, 0.2), (0.0358, 0.25),
    (0.0411, 0.3), (0.0475, 0.35), (0.0524, 0.4), (0.0607, 0.45), (0.0694, 0.5), (0.0815, 0.55),
    (0.0895, 0.6), (0.0939, 0.65), (0.1004, 0.7), (0.1056, 0.75), (0.1186, 0.8), (0.1348, 0.85),
    (0.1961, 0.9), (0.3125, 0.95), (0.3891, 0.975), (0.4771, 0.99), (0.7260, 1.0),
)


class UsageFraction(Spec):
    """Per-instance mean usage as a fraction of its size: Beta(mean·k, (1−mean)·k) with
    ``mean`` (0-1] and ``concentration`` k > 0, or the published ``cdf``: points
    ``[fraction, cumulative share]``, fractions in (0, 1] never falling, shares rising
    strictly from 0 to 1, log-linear in between (as :class:`Distribution`'s cdf).

    Give ``mean`` or ``cdf``. A ``mean`` set over the default CPU table (``--set
    workload.synthetic.cpu_usage.mean=...``) replaces it: a Beta again.
    """

    mean: float | None = Field(default=None, gt=0, le=1)
    concentration: float = Field(default=6.0, gt=0, description="k: larger means less spread between instances")
    cdf: tuple[tuple[float, float], ...] | None = Field(
        default=None, description="[fraction, cumulative share] points of the per-instance mean's distribution")

    @model_validator(mode="before")
    @classmethod
    def _mean_over_default(cls, data):
        if isinstance(data, dict) and data.get("mean") is not None and data.get("cdf") is not None:
            try:
                default = tuple(tuple(float(v) for v in point) for point in data["cdf"]) == AZURE_2019_CPU_MEAN_CDF
            except (TypeError, ValueError):
                default = False
            if default:
                data = {key: value for key, value in data.items() if key != "cdf"}
        return data

    @model_validator(mode="after")
    def _one_form(self) -> "UsageFraction":
        if self.mean is not None and self.cdf is not None:
            raise ValueError("give mean (a Beta with concentration) or cdf ([fraction, cumulative share] points), "
                             "not both")
        if self.mean is None and self.cdf is None:
            raise ValueError("give mean (a Beta with concentration) or cdf ([fraction, cumulative share] points): "
                             "concentration alone shapes a Beta around no mean (CPU's default is Azure 2019's "
                             "per-VM table, a cdf; set mean to replace it with a Beta)")
        # (a written config.toml holds the default concentration beside a cdf: only another value is a mistake)
        if self.cdf is not None and self.concentration != UsageFraction.model_fields["concentration"].default:
            raise ValueError(f"concentration ({self.concentration:g}) shapes only a Beta (with mean); a cdf gives "
                             "the spread itself")
        if self.cdf is not None:
            try:
                _check_cdf(self.cdf)
            except ValueError as err:  # its words are for a CDF of seconds
                raise ValueError(str(err).replace("seconds", "fractions")) from None
            if max(x for x, _ in self.cdf) > 1:
                raise ValueError(f"cdf fractions must be at most 1 (got {max(x for x, _ in self.cdf)})")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` per-instance mean fractions (shape (n,)), drawn with ``rng``."""
        if self.cdf is not None:
            return Distribution(cdf=self.cdf).sample(rng, n)
        if self.mean >= 1:
            return np.ones(n)
        return rng.beta(self.mean * self.concentration, (1 - self.mean) * self.concentration, n)


# The time of day arrivals (and a service's demand) peak at when they swing over a day:
# 14:00, an office-hours afternoon; no source in CALIBRATION.md gives the hour, an
# assumption (README, Assumptions).
DIURNAL_PEAK_S = 14 * 3600.0


class SyntheticSpec(Spec):
    """Poisson (optionally diurnal) arrivals of instances drawn from a size mix.

    ``arrival_rate_per_s`` at most 100,000 and ``usage_step_s`` at least 1 s
    (:mod:`simdc.model.limits`).
    """

    arrival_rate_per_s: float = Field(gt=0, le=limits.MAX_ARRIVAL_RATE_PER_S,
                                      description="mean arrivals per second (the daily mean when diurnal)")
    diurnal_amplitude: float = Field(default=0.0, ge=0, lt=1, description="rate swings by ± this fraction over a day")
    diurnal_peak_s: float = Field(default=DIURNAL_PEAK_S, ge=0, lt=86400, description="time of day of the peak rate")
    sizes: tuple[SizeClass, ...] = Field(default=AZURE_2017_SIZES, min_length=1)
    # Azure 2017 VM lifetimes, the published CDF itself (AZURE_2017_LIFETIME_CDF_S).
    lifetime_s: Distribution = Field(default_factory=lambda: Distribution(cdf=AZURE_2017_LIFETIME_CDF_S))
    # Azure 2019 per-VM average CPU, the file's own quantiles (AZURE_2019_CPU_MEAN_CDF).
    cpu_usage: UsageFraction = Field(default_factory=lambda: UsageFraction(cdf=AZURE_2019_CPU_MEAN_CDF))
    # Containers of the same applications used 0.42-4 GB where the VM took 4 GB: 50-90 %
    # smaller (Sharma et al., Middleware 2016, Table 2), i.e. 10-50 % of the size; mean 30 %.
    # Bitbrains Rnd VMs use less still (9.7 % of provisioned, CALIBRATION.md).
    memory_usage: UsageFraction = Field(default_factory=lambda: UsageFraction(mean=0.30, concentration=6.0))
    batch_fraction: float = Field(default=0.0, ge=0, le=1, description="share of instances of kind 'batch'")
    # Usage over time: each instance's mean × a shared diurnal factor × its own noise, read
    # every usage_step_s. The noise is drawn per 5-minute window of age (the readings σ is
    # calibrated on, Azure and Bitbrains), so a finer step does not draw it more often; a
    # longer step draws σ of its own average (usage.step_sigma). The noise's shape over
    # time (autocorrelation at 5 min, 1 h and 1 day, a daily cycle per instance, burstiness
    # that differs between instances, memory's rare peaks) is fitted to the same files:
    # simdc/workload/usage.py, CPU_WEIGHTS and below; tests/workload/test_usage_calibration.py
    # checks simdc's output against figures computed there from the files themselves.
    usage_step_s: float = Field(default=300.0, ge=limits.MIN_STEP_S)
    # Azure 2019: p95 ÷ mean of each VM's 5-minute average CPU, median over the 20 VMs of
    # traces/azure_v2_2019 (vm_cpu_readings): 1.56, IQR 1.36-1.67 (CALIBRATION.md). With
    # lognormal noise of mean 1, p95/mean = exp(1.645σ − σ²/2), so σ = 0.30 gives 1.57 for
    # the median instance; each instance's σ is this one times a per-instance spread
    # (usage.CPU_SIGMA_SPREAD). Not the per-interval maxima: those are the peaks within 5
    # minutes, which the usage step averages away.
    cpu_burstiness: float = Field(default=0.30, ge=0, description="σ of the lognormal noise on CPU (median instance)")
    # Bitbrains Rnd (traces/bitbrains_rnd/2013-7, "Memory usage [KB]"): p95 ÷ mean per VM,
    # median over the 20 VMs 1.355 (computed in tests/workload/test_usage_calibration.py);
    # exp(1.645σ − σ²/2) = 1.342 at σ = 0.19 (1.355 alone would need 0.196), and simdc's
    # median instance, whose σ spreads around this one and whose memory has rare peaks
    # (simdc.workload.usage), is Bitbrains' 1.355 within two standard errors (that test
    # holds it). (0.3 before: 1.57, which drove OOM kills.)
    memory_burstiness: float = Field(default=0.19, ge=0,
                                     description="σ of the lognormal noise on memory (median instance)")
    usage_correlation: float = Field(default=0.0, ge=0, le=1, description="share of the noise common to all instances")
    usage_diurnal_amplitude: float = Field(default=0.0, ge=0, lt=1,
                                           description="CPU swings ± this over a day, peak at diurnal_peak_s")
    # Images: each instance runs one of these ([[images]] names), the k-th most popular
    # with probability ∝ 1/k^s (Zipf): image pulls are heavy-tailed, a few images
    # dominate. None listed: instances have no image and start without a pull. s = 1
    # has no source for the synthetic mix: an assumption (README, Assumptions).
    # Pressure on shared resources the CPU model does not cover (0-1): a Beta with this
    # mean per instance (concentration 2, simdc.workload.synthetic.INTENSITY_CONCENTRATION:
    # most instances light, a few heavy; an assumption, README, Assumptions). 0: none.
    membw_intensity: float = Field(default=0.0, ge=0, lt=1, description="mean memory-bandwidth intensity")
    io_intensity: float = Field(default=0.0, ge=0, lt=1, description="mean disk/kernel I/O intensity")
    images: tuple[str, ...] = ()
    # Zipf exponent 1 over the images: an assumption (README, Assumptions).
    image_zipf_s: float = Field(default=1.0, ge=0, description="Zipf exponent of image popularity (0: uniform)")
    # Jobs: with jobs = J, every instance is a replica of one of J jobs (its `job` column),
    # the k-th most popular with probability ∝ 1/k^s. A job has one declared size, drawn
    # from `sizes`, and its own mean usage fractions, drawn from cpu_usage and
    # memory_usage: its replicas share both (their usage differs over time by the usage
    # noise). Popularity is heavy-tailed in production: in Azure Functions, invocation
    # rates of applications span 8 orders of magnitude (Shahrad et al., USENIX ATC 2020,
    # Fig. 5); the Zipf form and s = 1 are assumptions. None: no jobs (job = "").
    jobs: int | None = Field(default=None, gt=0, le=1_000_000, description="how many jobs instances belong to")
    job_zipf_s: float = Field(default=1.0, ge=0, description="Zipf exponent of job popularity (0: uniform)")


# Reader options that only one or a few formats use: setting one for another format is
# a mistake worth reporting (format "auto" cannot tell, so it accepts them).
FORMAT_OPTIONS = {
    "azure_memory_used_fraction": ("azure",),
    "azure_bucket_sizing": ("azure",),
    "reference_cpu_cores": ("google", "google2019"),
    "reference_memory_gib": ("google", "google2019", "alibaba2017", "alibaba2018", "cloudsimpy"),
    "opendc_memory_unit": ("opendc",),
}
TRACE_FORMATS = ("simdc", "auto", "azure", "google", "google2019", "alibaba2017", "alibaba2018", "bitbrains",
                 "opendc", "cloudsimpy")


class WorkloadSpec(Spec):
    """Exactly one source: ``trace`` (simdc's format or a public trace) or ``synthetic``.

    A trace's unit conversions and assumptions are documented in its reader,
    :mod:`simdc.workload.readers`; the options below override the assumptions.
    """

    trace: Path | None = Field(default=None, description="a file or a folder of parts")
    format: Literal["simdc", "auto", "azure", "google", "google2019", "alibaba2017", "alibaba2018", "bitbrains",
                    "opendc", "cloudsimpy"] = Field(
        default="auto", description="the trace's format; auto recognises it from the files and says so in the notes")
    usage: Path | None = Field(default=None, description="usage series: simdc's usage table (id, t_s, cpu_cores, "
                               "memory_gib) or the trace's own (vm_cpu_readings, task_usage, ...)")
    usage_step_s: float = Field(default=300.0, ge=limits.MIN_STEP_S,
                                description="step usage series are put onto, never ahead of their samples")
    on_bad_rows: Literal["strict", "skip"] = Field(
        default="strict", description="strict: bad rows are errors; skip: dropped and counted by reason")
    time_window_s: tuple[float, float] | None = Field(
        default=None, description="[start, end) of the trace to replay, seconds; times then count from start")
    sample: float | None = Field(default=None, gt=0, le=1, description="keep each instance with this probability")
    limit: int | None = Field(default=None, gt=0, description="keep the first this many instances")
    # Grow (or thin) a trace's load: each instance kept replicated floor(s) times plus once
    # more with probability s - floor(s) (simdc.workload.scaled); at most 1,000 (a bound
    # of ours: a thousand-fold trace is a different workload, better generated).
    scale: float | None = Field(default=None, gt=0, le=1000, description="replicas of each instance, on average")
    # Azure publishes no memory usage; 0.30 is the default (simdc/workload/readers/azure.py).
    azure_memory_used_fraction: float | None = Field(default=None, gt=0, le=1)
    # Azure V2 size buckets: an exact size from the V1 mix in the bucket (default) or the
    # bucket's upper bound (simdc/workload/readers/azure.py).
    azure_bucket_sizing: Literal["v1_mix", "upper"] | None = None
    # The largest machine of traces normalised to it (Google 2011, Alibaba); defaults are
    # assumptions documented in simdc/workload/readers/google.py and alibaba.py.
    reference_cpu_cores: float | None = Field(default=None, gt=0)
    reference_memory_gib: float | None = Field(default=None, gt=0)
    opendc_memory_unit: Literal["MB", "KB"] | None = None
    # Whether cpu_cores and memory_gib are VM sizes ("vm") or an application's needs
    # ("need"), which a VM platform with sizing = "auto" fits into its size catalogue.
    # None: as the source says (simdc.workload.readers.SIZES; the generator states needs).
    sizes: Literal["vm", "need"] | None = None
    synthetic: SyntheticSpec | None = None

    @property
    def empty(self) -> bool:
        """No source: no requests of its own (only with ``[[services]]``, whose replicas
        are then the whole workload: :class:`simdc.config.Config` checks that)."""
        return self.trace is None and self.synthetic is None

    @model_validator(mode="after")
    def _one_source(self) -> "WorkloadSpec":
        if self.trace is not None and self.synthetic is not None:
            raise ValueError("give exactly one of workload.trace or a [workload.synthetic] table")
        if self.usage is not None and self.trace is None:
            raise ValueError("workload.usage goes with workload.trace (the synthetic generator makes its own)")
        if self.usage is not None and os.path.normpath(self.usage) == os.path.normpath(self.trace):
            # (it was read as the trace alone, the usage silently none)
            raise ValueError(f"usage is the trace file itself ({self.usage}); give the usage table "
                             "(simdc's: id, t_s, cpu_cores, memory_gib; or the trace's own readings), or leave "
                             "workload.usage out")
        if self.trace is None:
            for key in ("time_window_s", "sample", "limit", "scale", *FORMAT_OPTIONS):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key} goes with workload.trace (it selects or converts a trace)")
        for key, formats in FORMAT_OPTIONS.items():
            if getattr(self, key) is not None and self.trace is not None and self.format not in (*formats, "auto"):
                raise ValueError(f"{key} applies to format {' or '.join(map(repr, formats))} only "
                                 f"(format is {self.format!r})")
        return self

    @field_validator("time_window_s")
    @classmethod
    def _window(cls, window: tuple[float, float] | None) -> tuple[float, float] | None:
        if window is not None and not (0 <= window[0] < window[1]):
            raise ValueError(f"must be [start, end] with 0 <= start < end (got {list(window)})")
        return window
