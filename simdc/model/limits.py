"""Bounds on values that would ask for more than any machine has, with the reason for each.

Validation rejects values outside them with the key, the bound and its reason, before a
run starts: without them a mistyped exponent hangs or kills the process instead of
failing (issue #15). The memory a run within them needs is checked separately, against
the machine, by :mod:`simdc.budget`.
"""

YEAR_S = 365.25 * 86400.0

# Simulated time: ten years covers any capacity study; beyond it float seconds lose
# sub-second precision long before (1e12 s needs 16 digits).
MAX_DURATION_S = 10 * YEAR_S
# Steps of usage series: a second is finer than any public trace (Azure and Bitbrains
# 5 min, Google 5 min, Alibaba 10-60 s); below it the step count, not the model, decides
# the run time (usage steps cost time, not memory, so the memory check cannot catch them).
MIN_STEP_S = 1.0
# Step of the timeseries: models in units of a mean lifetime (the queueing oracle tests,
# lifetimes of 1 s) sample below a second; the rows a step implies are then checked
# against the machine's memory (simdc.budget), so only the absurd is refused here.
MIN_SAMPLE_EVERY_S = 0.001
# The least restart back-off of a killed container: the kubelet's configurable
# crashLoopBackOff.maxContainerRestartPeriod is 1 s at least (KEP-5593; Kubernetes docs,
# Pod Lifecycle, "Configurable container restart delay"; before it, 10 s fixed). Less,
# and a container killed again at once restarts at one instant without end.
MIN_RESTART_BACKOFF_S = 1.0
# Hosts per [[cluster.hosts]] group and in the whole fleet: the largest public cluster
# traces hold about 10^4 machines (Google 2019 cells ~ 10^4, Alibaba 2018 ~ 4,000).
MAX_HOSTS = 1_000_000
# Arrivals per second: public traces reach thousands of requests per second at most.
MAX_ARRIVAL_RATE_PER_S = 100_000.0
# Mean time between failures: one failure a second per host is already a storm.
MIN_MTBF_S = 1.0
# Node VMs per host for containers in VMs: each is a VM with its own overhead.
MAX_NODES_PER_HOST = 1024
# Image pulls under way on one node: each is a download of its own; beyond a million the
# cap is no cap (no node runs that many pods: kubelet's maxPods default is 110).
MAX_PARALLEL_IMAGE_PULLS = 1_000_000

# Host sizes: the largest server sold today, HPE Superdome Flex (32 sockets, 896 cores,
# 1,792 threads, 48 TiB memory; HPE QuickSpecs a00036491enw), with ×1000 head-room.
# Above them a host is a typo, and its utilisation rounds to 0 (1e300 GiB: "0.0 %").
MAX_HOST_CPU_CORES = 1_792_000.0
MAX_HOST_MEMORY_GIB = 48 * 1024 * 1000.0
# Overcommit ratios: OpenStack Nova's default cpu_allocation_ratio is 16 (Nova docs,
# "Overcommitting CPU and RAM"). A study that admits every request (no admission limit,
# as the processor-sharing oracle, tests/oracle/test_processor_sharing.py) sets 10^6;
# above that a ratio is a typo (bookings times it stay far from overflow).
MAX_OVERCOMMIT = 1e6
# Disk sizes (image caches, VM disk images): the largest SSD sold, 122.88 TB (Solidigm
# D5-P5336, 2024; ~114,000 GiB), with ×1000 head-room.
MAX_DISK_GIB = 114_000_000.0
# Link and registry bandwidths: the fastest Ethernet standard, 800 Gbit/s (IEEE 802.3df-2024),
# with ×1000 head-room; above it a pull takes no time at all to the double's precision.
MAX_GBPS = 800_000.0
# A demand spike's factor: a million-fold burst is far beyond any trace's peak-to-mean
# (Azure Functions 2019: ~10^3 at the extreme); base demand (MAX_DEMAND) × it stays finite.
MAX_SPIKE_FACTOR = 1e6
# A service's demand, in cores or requests per second (and each step's or series' value):
# a million hosts (MAX_HOSTS) of 1,000 cores; request rates of the largest web services
# are about 10^5-10^7 per second. Beyond it sums over a run overflow to inf.
MAX_DEMAND = 1e9

# Instances a host creates per second per core: Firecracker's is 5 (firecracker
# docs/design.md); a million is far beyond any, and keeps 1 / (rate x cores) a normal double.
MAX_CREATIONS_PER_CORE_PER_S = 1e6
# ... and at least one creation per core in about 12 days: slower is no host, and a rate
# near the smallest double makes the spacing inf (starts that never become ready).
MIN_CREATIONS_PER_CORE_PER_S = 1e-6

# Money: one currency throughout, whichever the config's figures are in (simdc.model.cost),
# so each bound leaves room for the weakest currency, about 25,000 to the US dollar (VND).
# Electricity: the highest market price cap, AUD 17.5/kWh (AEMO, NEM market price cap
# 2024-25, AUD 17,500/MWh; its floor is AUD -1/kWh), is about USD 11, ~3 x 10^5 VND: a
# million per kWh either way is no market's price (a series in per-MWh read per kWh is).
MAX_PRICE_PER_KWH = 1e6
# An hour of a host (rent) or of an instance (a licence): the dearest cloud instance,
# AWS EC2 u7in-32tb.224xlarge, costs about USD 400 an hour on demand (~10^7 VND); x100.
MAX_PRICE_PER_HOUR = 1e9
# A host's purchase: a fully built HPE Superdome Flex is of the order of USD 10^7
# (~2.5 x 10^11 VND); x40.
MAX_CAPEX = 1e13
# Years a host's capex or embodied carbon is spread over: servers are written off over
# 3-6 years; below 0.01 year (3.7 days) the hourly share is a typo, and near 0 it is inf.
MIN_YEARS = 0.01
# Power usage effectiveness: the industry's average was 2.5 in 2007 and 1.58 in 2023
# (Uptime Institute, Global Data Center Survey 2023); above 3 is no data centre.
MAX_PUE = 3.0
# A host's power: the hungriest server sold as one box, NVIDIA DGX H100, draws 10.2 kW at
# most (its datasheet), with x1000 head-room as for cores (MAX_HOST_CPU_CORES).
MAX_HOST_POWER_W = 10_200_000.0
# A host's embodied carbon: a rack server's life-cycle footprint is of the order of
# 10^4 kgCO2eq (Dell, PowerEdge R740 product carbon footprint, ~7,700 kg); x1000.
MAX_EMBODIED_KGCO2EQ = 1e7
# Carbon intensity of electricity: the dirtiest generation, lignite, emits about
# 1,100-1,200 gCO2eq/kWh over its life (IPCC AR5 WG3 Annex III: coal 740-910, median 820);
# no grid is dirtier than its dirtiest plant, so 2,000 g/kWh is a unit mistake (g/MWh).
MAX_CARBON_GCO2_PER_KWH = 2000.0

# Replications of a sweep's point or a plan's host count: the 95 % confidence interval's
# half-width shrinks as 1/sqrt(n) (Student's t), so at 10,000 it is 2 % of one run's
# standard deviation (1.96 / 100); more replications buy no precision a study can use,
# only time (a run takes a second or more), and a mistyped count fills memory first.
MAX_REPLICATIONS = 10_000
REPLICATIONS_NOTE = "at 10,000 the 95 % CI's half-width is already 2 % of one run's spread"
# Time bins of simdc trace inspect's arrival table: a table of more rows than this is not
# read by anyone, and a trace's times are whole seconds at best, so that ten thousand bins
# of a day are already 9 s each (its bin edges are allocated before the trace is binned:
# 10^9 bins took 16 GB).
MAX_BINS = 10_000
BINS_NOTE = "rows of a table one can read; a day's bins are then 9 s wide"

# (key, bound kind) -> why, appended to the error message.
NOTES = {
    ("duration_s", "less_than_equal"): "10 years",
    ("sample_every_s", "greater_than_equal"): "a millisecond",
    ("usage_step_s", "greater_than_equal"): "a second; finer steps make the run take forever",
    ("count", "less_than_equal"): "a million hosts",
    ("arrival_rate_per_s", "less_than_equal"): "far above any public trace",
    ("host_mtbf_s", "greater_than_equal"): "a second",
    ("kernel_mtbf_s", "greater_than_equal"): "a second",
    ("nodes_per_host", "less_than_equal"): "node VMs per host",
    ("min_stay_s", "less_than_equal"): "10 years",
    ("maintenance_s", "less_than_equal"): "10 years",
    ("cpu_cores", "less_than_equal"): "1000 x the largest server sold",
    ("memory_gib", "less_than_equal"): "1000 x the largest server sold",
    ("cpu_overcommit", "less_than_equal"): "OpenStack's default is 16; 10^6 admits everything",
    ("memory_overcommit", "less_than_equal"): "OpenStack's default is 16; 10^6 admits everything",
    ("overcommit", "less_than_equal"): "OpenStack's default is 16; 10^6 admits everything",
    ("image_cache_gib", "less_than_equal"): "1000 x the largest SSD sold",
    ("disk_gib", "less_than_equal"): "1000 x the largest SSD sold",
    ("default_disk_gib", "less_than_equal"): "1000 x the largest SSD sold",
    ("cores", "less_than_equal"): "a million hosts of 1,000 cores",
    ("reserved_memory_gib", "less_than_equal"): "1000 x the largest server sold",
    ("vcpus", "less_than_equal"): "1000 x the largest server sold",
    ("memory_used_gib", "less_than_equal"): "1000 x the largest server sold",
    ("net_gbps", "less_than_equal"): "1000 x the fastest Ethernet, 800 Gbit/s",
    ("bandwidth_gbps", "less_than_equal"): "1000 x the fastest Ethernet, 800 Gbit/s",
    ("factor", "less_than_equal"): "a million-fold spike",
    ("requests_per_s", "less_than_equal"): "far above any web service",
    ("creations_per_core_per_s", "less_than_equal"): "Firecracker's is 5",
    ("creations_per_core_per_s", "greater_than_equal"): "one creation per core in about 12 days",
    ("price_per_kwh", "less_than_equal"): "the highest market price cap is AUD 17.5/kWh",
    ("price_per_kwh", "greater_than_equal"): "the lowest market price floor is AUD -1/kWh",
    ("price_per_hour", "less_than_equal"): "the dearest cloud instance is about USD 400 an hour",
    ("capex", "less_than_equal"): "the largest server costs about USD 10^7",
    ("amortisation_years", "greater_than_equal"): "3.7 days; servers are written off over 3-6 years",
    ("lifetime_years", "greater_than_equal"): "3.7 days; servers last 3-6 years",
    ("pue", "less_than_equal"): "the industry's average is 1.58; above 3 is no data centre",
    ("power_idle_w", "less_than_equal"): "1000 x the hungriest server sold, 10.2 kW",
    ("power_max_w", "less_than_equal"): "1000 x the hungriest server sold, 10.2 kW",
    ("embodied_kgco2eq", "less_than_equal"): "1000 x a rack server's ~7,700 kg",
    ("carbon_intensity_gco2_per_kwh", "less_than_equal"): "lignite, the dirtiest, emits ~1,200 g/kWh",
}
# Why a licence's price per hour is bounded (its key is a platform's name).
LICENCE_NOTE = NOTES[("price_per_hour", "less_than_equal")]
