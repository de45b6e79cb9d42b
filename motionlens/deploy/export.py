"""Export a model to ONNX, or to an OpenVINO folder (fp32, bf16 or calibrated int8) behind an accuracy guard.

OpenVINO: `export_openvino` writes a folder that `predict`, `watch` and `eval` take as the model:
`model.xml`/`model.bin` (the IR, dynamic batch), and `export.json` (written last, so a folder
without it is incomplete) holding the format and its version, the motionlens version, the
precision, the classes, the whole input contract (the pipeline) and the accuracy guard: top-1
agreement and the largest logit error of the exported model against PyTorch fp32 on held-out
clips, never the calibration clips. Below `min_agreement` the export is refused unless forced.

ONNX:

Uses torch.onnx's TorchScript-based exporter (`dynamo=False`): in torch 2.13 the default
dynamo exporter needs the separate `onnxscript` package, and the TorchScript one exports every
motionlens model as it is. The batch axis is dynamic; clip length and crop size are fixed to
the pipeline's. The check runs onnxruntime (the optional extra `motionlens[onnx]`) on a batch
of a different size from the traced one; without onnxruntime the file is only validated with
`onnx.checker`, and without `onnx` either the check is skipped, each said in one line.
A `<name>.json` beside the `.onnx` holds the class names and the pipeline, which a deployment
needs to prepare input and read output.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ..core.errors import MotionlensError, TaskFailed

class GuardRefused(TaskFailed):
    """The exported model disagrees with fp32 too often (exit 1)."""


def export_onnx(model, out: str | os.PathLike, opset: int = 17, pretrained: str | None = None,
                clip_len: int | None = None, check: bool = True, atol: float = 1e-4) -> dict:
    """Export a run folder, checkpoint, model name or nn.Module (see `load_predictor`) to `out`.

    Returns `{"path", "input_shape", "check", "max_abs_diff", "message"}`: `check` is
    "onnxruntime", "onnx" or "skipped"; `max_abs_diff` is the largest logit difference on a
    random batch (onnxruntime only). Raises MotionlensError if it exceeds `atol`."""
    from .predict import load_predictor

    predictor = load_predictor(model, pretrained=pretrained, device="cpu", clip_len=clip_len)
    net, pipe = predictor.model.eval(), predictor.pipeline
    in_chans = getattr(net, "in_chans", 3)
    shape = (1, in_chans, pipe.clip_len, pipe.crop_size, pipe.crop_size)  # (B, C, T, H, W)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        try:
            torch.onnx.export(net, (example,), str(out), dynamo=False, opset_version=opset,
                              input_names=["video"], output_names=["logits"],
                              dynamic_axes={"video": {0: "batch"}, "logits": {0: "batch"}})
        except Exception as err:  # the exporter raises many types; the user needs the first line
            raise MotionlensError(f"ONNX export failed at opset {opset}: {str(err).splitlines()[0]}") from None
    sidecar = out.with_suffix(".json")
    sidecar.write_text(json.dumps({"classes": predictor.classes, "pipeline": pipe.to_dict(),
                                   "input": {"name": "video", "layout": "B, C, T, H, W", "shape": list(shape)},
                                   "output": {"name": "logits"}}, indent=2))
    result = {"path": str(out), "input_shape": list(shape), "check": "skipped", "max_abs_diff": None, "message": ""}
    if check:
        result.update(check_onnx(net, out, shape, atol))
    return result


def check_onnx(net: torch.nn.Module, path: Path, shape: tuple[int, ...], atol: float = 1e-4) -> dict:
    """Compare the ONNX file's output with the module's on a random batch of 2 (the dynamic axis)."""
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    if ort is None:
        try:
            import onnx
        except ImportError:
            return {"check": "skipped", "message": "onnxruntime and onnx are not installed "
                    "(pip install 'motionlens[onnx]'): the exported file was not checked"}
        try:
            onnx.checker.check_model(onnx.load(str(path)))
        except Exception as err:  # onnx raises ValidationError and protobuf errors
            raise MotionlensError(f"{path}: the exported file is not valid ONNX ({str(err).splitlines()[0]})") from None
        return {"check": "onnx", "message": "onnxruntime is not installed (pip install 'motionlens[onnx]'): "
                "checked that the file is valid ONNX, not its outputs"}
    x = torch.randn((2, *shape[1:]), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = net(x).float().numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"video": x.numpy()})[0]
    diff = float(np.max(np.abs(got - expected)))
    if got.shape != expected.shape or not diff <= atol:
        raise MotionlensError(f"{path}: ONNX output differs from PyTorch (max abs difference {diff:.2e} > {atol:g})")
    return {"check": "onnxruntime", "max_abs_diff": diff,
            "message": f"onnxruntime output matches PyTorch (max abs difference {diff:.1e})"}


def export_openvino(model, out_dir: str | os.PathLike, precision: str = "fp32", calibration: str | None = None,
                    pretrained: str | None = None, clip_len: int | None = None, calibration_clips: int = 64,
                    guard_clips: int = 100, min_agreement: float = 0.99, force: bool = False) -> dict:
    """Export a run folder, checkpoint, model name or nn.Module to an OpenVINO folder `out_dir`.

    `calibration`: a folder of videos or LAYOUT:ROOT (a run defaults to its training data); int8
    is calibrated with NNCF on `calibration_clips` clips, and every precision is checked on up to
    `guard_clips` held-out clips (random clips when there is no data: only for fp32 and bf16).
    Returns the export.json record. Raises GuardRefused when agreement < `min_agreement` and not `force`."""
    from .backends import OpenVINOBackend, check_precision, import_openvino, to_openvino
    from .export_dir import FORMAT, FORMAT_VERSION, IR_FILES, META, motionlens_version
    from .calibrate import agreement, batched_logits, draw_clips, split_videos
    from .predict import load_predictor

    if precision not in ("fp32", "bf16", "int8"):
        raise MotionlensError(f"--precision must be fp32, bf16 or int8, not {precision!r}")
    ov = import_openvino()
    check_precision("openvino", precision)
    predictor = load_predictor(model, pretrained=pretrained, device="cpu", clip_len=clip_len)
    net, pipe = predictor.model.eval(), predictor.pipeline
    run_data = _run_data(model)  # the run's data config: its training data and evaluation protocol
    spec = calibration or (run_data or {}).get("dataset")
    if precision == "int8" and not spec:
        raise MotionlensError("--precision int8 needs --calibration: a folder of videos or LAYOUT:ROOT")
    calib_videos, held_videos = split_videos(spec) if spec else ([], [])
    shape = (1, getattr(net, "in_chans", 3), pipe.clip_len, pipe.crop_size, pipe.crop_size)  # (B, C, T, H, W)
    if held_videos:
        guard = draw_clips(held_videos, pipe, guard_clips, seed=1)
    else:
        guard = torch.randn((min(guard_clips, 16), *shape[1:]), generator=torch.Generator().manual_seed(1)).numpy()
    ov_model = to_openvino(net, torch.from_numpy(guard[:1]))
    calibration_record = None
    if precision == "int8":
        clips = draw_clips(calib_videos, pipe, calibration_clips, seed=0)
        ov_model = _quantize(ov_model, clips)
        calibration_record = {"data": str(spec), "clips": int(len(clips)), "videos": len(calib_videos)}
    with torch.inference_mode():
        reference = batched_logits(net, guard)
    candidate = batched_logits(OpenVINOBackend(ov_model, precision), guard)
    check = {**agreement(reference, candidate), "data": str(spec) if held_videos else "random clips (no data given)",
             "min_agreement": min_agreement, "forced": False}
    if check["top1_agreement"] < min_agreement:
        message = (f"{precision} agrees with fp32 on {check['top1_agreement']:.1%} of {check['clips']} held-out clips "
                   f"(< {min_agreement:.0%}; largest logit error {check['max_logit_error']:.3g})")
        if not force:
            raise GuardRefused(f"export refused: {message}; --force exports it anyway")
        check["forced"] = True
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / META).unlink(missing_ok=True)  # the folder is incomplete until the new record is written
    ov.save_model(ov_model, str(out_dir / IR_FILES[0]), compress_to_fp16=False)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "motionlens_version": motionlens_version(),
            "backend": "openvino", "precision": precision, "model": IR_FILES[0], "source": str(model),
            "classes": list(predictor.classes), "pipeline": pipe.to_dict(),
            "input": {"name": "video", "layout": "B, C, T, H, W", "shape": [-1, *shape[1:]], "dtype": "float32"},
            "output": {"name": "logits", "layout": "B, K"}, "guard": check, "calibration": calibration_record,
            "data_config": {k: v for k, v in (run_data or {}).items() if k not in ("dataset", "annotations", "flow_root")}}
    from ..core.atomic import write_text

    write_text(out_dir / META, json.dumps(meta, indent=2))
    return meta


def _quantize(ov_model, clips: np.ndarray):
    """NNCF post-training int8 quantization calibrated on `(N, C, T, H, W)` clips."""
    import logging

    import nncf

    logging.getLogger("nncf").setLevel(logging.WARNING)
    dataset = nncf.Dataset(list(clips), lambda clip: clip[None])  # each item one clip, batch of 1
    try:
        return nncf.quantize(ov_model, dataset, subset_size=len(clips))
    except Exception as err:  # NNCF raises many types; the user needs the first line
        raise MotionlensError(f"int8 quantization failed: {(str(err).strip().splitlines() or [type(err).__name__])[0]}") from None


def _run_data(model) -> dict | None:
    """The data config of a run folder or checkpoint, if `model` is one."""
    from .export_dir import is_export_dir
    from .predict import _is_checkpoint

    if isinstance(model, torch.nn.Module) or not _is_checkpoint(model) or is_export_dir(model):
        return None
    from ..config import to_dict
    from ..training.runs import load_run

    return to_dict(load_run(model).config.data)
