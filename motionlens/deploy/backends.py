"""Runtimes behind one call: `backend(x)` takes float `(B, C, T, H, W)` clips and returns `(B, K)` logits.

Like ultralytics' AutoBackend, the predictor never asks which runtime it has. There are two:
PyTorch (fp32, frozen TorchScript trace or eager; bf16 autocast in channels_last_3d) and
OpenVINO (fp32 or bf16 from a module or an exported IR; int8 only from an IR exported with
`motionlens export --precision int8`, because it needs calibration data).

bf16 is only offered where the CPU computes it natively (AVX512-BF16 or AMX, as /proc/cpuinfo,
torch and OpenVINO report): elsewhere it is emulated and many times slower than fp32. OpenVINO
picks bf16 by default on such CPUs, so fp32 is always asked for explicitly.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from ..core.errors import MotionlensError

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "openvino")
PRECISIONS = ("auto", "fp32", "bf16", "int8")
INSTALL_OPENVINO = 'OpenVINO is not installed: pip install "motionlens[openvino]"'


class UnsupportedPrecision(MotionlensError):
    """A precision this CPU or runtime cannot run natively (the CLI exits 2, a usage error)."""

    exit_code = 2


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively and torch's oneDNN uses it."""
    if not {"avx512_bf16", "amx_bf16"} & cpu_flags():
        return False
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def import_openvino():
    """The `openvino` module, or one line naming the extra to install."""
    try:
        import openvino
    except ImportError:
        raise MotionlensError(INSTALL_OPENVINO) from None
    return openvino


def openvino_installed() -> bool:
    try:
        import_openvino()
    except MotionlensError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def openvino_capabilities() -> frozenset[str]:
    """What OpenVINO's CPU plugin reports it runs natively, e.g. {"FP32", "BF16", "INT8"}."""
    ov = import_openvino()
    return frozenset(str(c).upper() for c in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def check_precision(backend: str, precision: str) -> None:
    """Raise UnsupportedPrecision (one line) when `backend` cannot run `precision` natively here."""
    if precision == "bf16":
        native = native_bf16() if backend == "torch" else "BF16" in openvino_capabilities() and native_bf16()
        if not native:
            raise UnsupportedPrecision(f"--precision bf16: this CPU has no native bf16 (avx512_bf16 or amx_bf16) "
                                       f"for {backend}; emulated it is slower than fp32: use fp32")
    if precision == "int8":
        if backend == "torch":
            raise UnsupportedPrecision("--precision int8 runs on OpenVINO only: export the model with "
                                       "`motionlens export MODEL --format openvino --precision int8` and predict with the folder")
        if "INT8" not in openvino_capabilities():
            raise UnsupportedPrecision("--precision int8: OpenVINO reports no INT8 support on this CPU")


class TorchBackend:
    """A PyTorch module in fp32 (traced and frozen when `fast`, else eager) or bf16 autocast."""

    name = "torch"

    def __init__(self, model: nn.Module, precision: str = "fp32", fast: bool = True):
        if precision not in ("fp32", "bf16"):
            raise UnsupportedPrecision(f"torch runs fp32 or bf16, not {precision}")
        self.model, self.precision, self.fast = model.eval(), precision, fast
        self._runner: Callable[[torch.Tensor], torch.Tensor] | None = None

    def _build(self, x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        from ..models.inference import optimize_for_inference

        method = "channels_last" if self.precision == "bf16" else "torchscript" if self.fast else "eager"
        if method == "eager" or x.device.type != "cpu" and self.precision == "bf16":
            return self.model
        try:
            return optimize_for_inference(self.model, x, method)
        except Exception as err:  # tracing fails in many ways (data-dependent control flow, ...)
            reason = (str(err).splitlines() or [type(err).__name__])[0]
            log.warning("tracing %s failed (%s); running it eagerly", type(self.model).__name__, reason)
            return self.model

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """float `(B, C, T, H, W)` -> float `(B, K)` logits on the CPU."""
        if self._runner is None:
            self._runner = self._build(x)
        bf16 = self.precision == "bf16"
        context = torch.autocast(x.device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with context:
            return self._runner(x).float().cpu()


class OpenVINOBackend:
    """A model compiled by OpenVINO for the CPU; int8 models are quantized IR files."""

    name = "openvino"

    def __init__(self, ov_model, precision: str = "fp32", threads: int | None = None):
        ov = import_openvino()
        self.precision = precision
        config = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                  "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.compiled = ov.Core().compile_model(ov_model, "CPU", config)
        self.request = self.compiled.create_infer_request()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """float `(B, C, T, H, W)` -> float `(B, K)` logits."""
        data = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        out = self.request.infer({0: data})
        return torch.from_numpy(np.array(out[self.compiled.output(0)], dtype=np.float32))


def to_openvino(model: nn.Module, example: torch.Tensor):
    """An `ov.Model` of `model` for clips shaped like `example` `(B, C, T, H, W)`, batch dynamic."""
    ov = import_openvino()
    shape = [-1, *example.shape[1:]]
    try:
        with torch.inference_mode(False), torch.no_grad():
            return ov.convert_model(model.eval(), example_input=example, input=[ov.PartialShape(shape)])
    except Exception as err:  # the converter raises many types; the user needs the first line
        raise MotionlensError(f"OpenVINO could not convert {type(model).__name__}: "
                              f"{(str(err).strip().splitlines() or [type(err).__name__])[0]}") from None


def pick(backend: str, precision: str, allowed: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """(backend, precision) to run: the first of `allowed` (fastest first) that fits the request,
    is installed and that this CPU runs natively; explicit requests that cannot run raise one line."""
    if backend not in BACKENDS:
        raise MotionlensError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if precision not in PRECISIONS:
        raise MotionlensError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if backend == "openvino":
        import_openvino()
    if backend != "auto" and precision != "auto":
        check_precision(backend, precision)
    errors = []
    for name, prec in allowed:
        if backend not in ("auto", name) or precision not in ("auto", prec):
            continue
        if name == "openvino" and not openvino_installed():
            errors.append(INSTALL_OPENVINO)
            continue
        try:
            check_precision(name, prec)
        except MotionlensError as err:
            errors.append(str(err))
            continue
        return name, prec
    if errors and precision != "auto":
        raise UnsupportedPrecision(errors[0])
    raise MotionlensError(f"no runtime can run --backend {backend} --precision {precision} here"
                          + (f" ({errors[0]})" if errors else ""))


# What `auto` may run for a module, preferred first. A module has passed no accuracy guard for bf16 or
# int8 (an export has), so `auto` runs it in fp32, and in PyTorch: OpenVINO fp32 is ~20% faster per
# clip but converting costs 5-15 s at every start, which an export pays once (docs/inference-cpu.md).
MODULE_CHOICES = (("torch", "fp32"), ("openvino", "fp32"), ("torch", "bf16"), ("openvino", "bf16"))


def module_backend(model: nn.Module, example: torch.Tensor, backend: str = "auto", precision: str = "auto",
                   fast: bool = True) -> TorchBackend | OpenVINOBackend:
    """A backend for an `nn.Module` fed clips shaped like `example` (see `pick`). OpenVINO
    converts the module once here (seconds for Kinetics models)."""
    if precision == "int8":
        raise UnsupportedPrecision("--precision int8 needs an int8 export (it is calibrated on your videos): "
                                   "motionlens export MODEL --format openvino --precision int8 --out DIR, then use DIR")
    name, prec = pick(backend, precision, MODULE_CHOICES)
    if name == "torch":
        return TorchBackend(model, prec, fast=fast)
    return OpenVINOBackend(to_openvino(model, example), prec)


def export_backend(path: str, backend: str = "auto", precision: str = "auto") -> OpenVINOBackend:
    """The backend of an export folder: its own precision, or (auto) fp32 where a bf16 export
    meets a CPU without native bf16. An int8 export runs int8 only."""
    from .export_dir import IR_FILES, read_export

    meta = read_export(path)
    own = meta["precision"]
    if backend == "torch":
        raise MotionlensError(f"{path} is an OpenVINO export: --backend torch needs the run or model it came from")
    choices = (("openvino", "int8"),) if own == "int8" else (("openvino", own), ("openvino", "fp32"))
    if precision not in ("auto", *(p for _, p in choices)):
        raise MotionlensError(f"{path} holds a {own} model: --precision {precision} needs another export "
                              f"(motionlens export ... --precision {precision})")
    _, prec = pick("openvino", precision, choices)
    return OpenVINOBackend(str(Path(path) / IR_FILES[0]), prec)


def make_backend(model: nn.Module | None, example: torch.Tensor, backend: str = "auto", precision: str = "auto",
                 fast: bool = True, export: str | None = None, device: torch.device | None = None):
    """The backend a Predictor runs: an export folder's, or `model`'s for clips like `example`.
    Off the CPU only PyTorch runs (fp32, or bf16 when asked)."""
    if export is not None:
        chosen = export_backend(export, backend, precision)
    elif device is not None and device.type != "cpu":
        if backend == "openvino" or precision == "int8":
            raise MotionlensError(f"--backend openvino and int8 run on the CPU, not {device}: pass --device cpu")
        chosen = TorchBackend(model, "bf16" if precision == "bf16" else "fp32", fast=fast)
    else:
        chosen = module_backend(model, example, backend, precision, fast=fast)
    log.info("running %s", describe(chosen))
    return chosen


def describe(backend) -> str:
    """E.g. "openvino int8", for logs and status lines."""
    return f"{backend.name} {backend.precision}"
