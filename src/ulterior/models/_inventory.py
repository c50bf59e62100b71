"""The devices this process can compute on, as ``ulterior models`` lists them."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

from ulterior.models._budget import free_memory
from ulterior.models._compute import resolve_dtype
from ulterior.models._device import resolve_device
from ulterior.models._hf_load import import_torch

GIB = 2**30


@dataclass(frozen=True)
class DeviceSummary:
    """One device: what it is, its memory, and what ``--dtype auto`` computes in there.

    Attributes:
        name: ``cpu`` or ``cuda:N``, as ``--device`` takes it.
        hardware: The CPU's model name or the GPU's.
        free_bytes: Memory free now (the GPU's, or the machine's available RAM).
        total_bytes: All the device's memory.
        compute_mode: The compute mode ``--dtype auto`` picks on this device.
        is_auto: Whether ``--device auto`` picks this device.
    """

    name: str
    hardware: str
    free_bytes: int
    total_bytes: int
    compute_mode: str
    is_auto: bool

    def memory(self) -> str:
        """Free and total memory in GiB, e.g. ``20.1 of 23.4 GiB free``."""
        return f"{self.free_bytes / GIB:.1f} of {self.total_bytes / GIB:.1f} GiB free"


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _ram_bytes() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not POSIX: say what is free
        return 0


def available_devices() -> list[DeviceSummary]:
    """The CPU and every GPU torch sees, in ``--device`` order.

    Raises:
        MissingDependencyError: torch is not installed (the ``hf`` extra).
    """
    torch = import_torch()
    auto = resolve_device("auto")
    cpu_free = free_memory(torch.device("cpu"))
    devices = [DeviceSummary("cpu", f"{cpu_name()}, {os.cpu_count() or 1} cores", cpu_free,
                             max(_ram_bytes(), cpu_free), resolve_dtype("auto", "cpu"),
                             auto == "cpu")]
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for index in range(count):
        name = f"cuda:{index}"
        free, total = torch.cuda.mem_get_info(index)
        devices.append(DeviceSummary(name, torch.cuda.get_device_name(index), int(free),
                                     int(total), resolve_dtype("auto", name), auto == name))
    return devices
