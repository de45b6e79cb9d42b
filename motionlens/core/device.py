"""Which device runs the model, and mixed precision on it: shared by training and deployment."""

from __future__ import annotations

import torch

from .errors import MotionlensError


def parse_device(device: str | torch.device) -> torch.device:
    """`auto` (CUDA when there is one), `cpu`, `cuda`, `cuda:N` or `mps` as a torch.device. A device
    this machine does not have is a one-line MotionlensError, not torch's AssertionError later."""
    if isinstance(device, torch.device):
        return device
    text = str(device).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(text)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise MotionlensError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N")
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            raise MotionlensError(f"--device {device}: this machine has no usable CUDA device (torch "
                                  f"{torch.__version__} is {build}); use --device cpu or --device auto")
        if dev.index is not None and dev.index >= count:
            raise MotionlensError(f"--device {device}: there are {count} CUDA devices (cuda:0 to cuda:{count - 1})")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise MotionlensError(f"--device {device}: MPS is not available here; use --device cpu or --device auto")
    return dev


def autocast_context(device: torch.device, enabled: bool):
    """Mixed precision on CUDA only: this CPU has no bf16 and autocast there is far slower."""
    if enabled and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return torch.autocast("cpu", enabled=False)
