"""Images and the registry they are pulled from.

Sizes: ``size_mib`` in MiB (2^20 bytes), ``disk_gib`` in GiB (2^30 bytes). Bandwidths:
``*_gbps`` in Gbit/s (10^9 bit/s). Conversions happen once, in the engine.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from simdc.model import limits
from simdc.model.base import Spec


def image_ref(name: str) -> str:
    """``name:tag``, with ``latest`` when the tag is omitted (a registry port is not a tag)."""
    name = name.strip()
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


class Layer(Spec):
    """One layer of a container image; layers with the same digest are stored once per host."""

    digest: str = Field(min_length=1)
    size_mib: float = Field(gt=0)


class ImageSpec(Spec):
    """An application's image: container layers, a VM disk image, or both.

    The same application can be packaged both ways; a platform takes the form its rules
    use (containers and layer-booting microVMs the layers; VMs the disk image).
    """

    name: str = Field(min_length=1, description="name:tag (tag latest when omitted)")
    layers: tuple[Layer, ...] = ()
    disk_gib: float | None = Field(default=None, gt=0, le=limits.MAX_DISK_GIB, description="size of the VM disk image")

    @field_validator("name")
    @classmethod
    def _tagged(cls, name: str) -> str:
        return image_ref(name)

    @model_validator(mode="after")
    def _some_form(self) -> "ImageSpec":
        if not self.layers and self.disk_gib is None:
            raise ValueError(f"image {self.name!r} needs layers, disk_gib, or both")
        digests = [layer.digest for layer in self.layers]
        if len(set(digests)) != len(digests):
            raise ValueError(f"image {self.name!r} lists a layer digest twice")
        return self

    @property
    def layers_mib(self) -> float:
        return sum(layer.size_mib for layer in self.layers)


class MirrorSpec(Spec):
    """A registry mirror near the hosts: pulls go there instead of the registry."""

    bandwidth_gbps: float = Field(gt=0, le=limits.MAX_GBPS)
    # A mirror in the hosts' own data centre, 1 ms away: no source gives its distance,
    # an assumption (README, Assumptions).
    rtt_s: float = Field(default=0.001, ge=0)


class RegistrySpec(Spec):
    """Where images come from. A pull of a layer costs one round trip, then its bytes at
    the flow's fair share of the host's link and the registry's total bandwidth.

    No published figure in CALIBRATION.md fixes a registry's bandwidth or distance: the
    defaults are assumptions for a remote registry, to be set per study. For scale, cloud
    image transfer ran at 1.1-22.5 MB/s per transfer (Mao & Humphrey, IEEE CLOUD 2012).
    """

    bandwidth_gbps: float = Field(default=1.0, gt=0, le=limits.MAX_GBPS,

                                  description="total egress, shared by all pulls")
    # A remote registry 50 ms away: an assumption (the docstring; README, Assumptions).
    rtt_s: float = Field(default=0.05, ge=0, description="round trip per layer request")
    mirror: MirrorSpec | None = None


def check_catalogue(images: tuple[ImageSpec, ...]) -> list[str]:
    """Problems across the catalogue: repeated names, one digest with two sizes.

    A digest is one layer, so one size: each place that gives it a size other than the
    one most places give (the first given, on a tie) is one problem, at its own key
    (``images[i].layers[k].size_mib``), naming where the other size is: a ``--set`` of
    one layer's size is then the one line blamed, not the file's other images."""
    problems, seen = [], set()
    places: dict[str, list[tuple[int, int, float]]] = {}  # digest: (image, layer, size) in order
    for index, image in enumerate(images):
        if image.name in seen:
            problems.append(f"images[{index}].name: {image.name!r} is defined twice")
        seen.add(image.name)
        for k, layer in enumerate(image.layers):
            places.setdefault(layer.digest, []).append((index, k, layer.size_mib))
    for digest, where in places.items():
        sizes = [size for _, _, size in where]
        usual = max(dict.fromkeys(sizes), key=sizes.count)  # the most given; the first given on a tie
        others = ", ".join(f"images[{i}]" for i, _, size in where if size == usual)
        for i, k, size in where:
            if size != usual:
                problems.append(f"images[{i}].layers[{k}].size_mib: layer {digest!r} is {size} MiB here but "
                                f"{usual} MiB in {others}: a digest is one layer, of one size")
    return problems
