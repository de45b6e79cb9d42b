"""Export a model to ONNX and check the exported graph against PyTorch.

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

from ..core.errors import MotionlensError


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
