"""CLI commands: `motionlens train`, `motionlens eval`, `motionlens lr-find`."""

from __future__ import annotations

import json
import os

import click

from ..core.progress import console_out
from .options import backend_options

# flag -> dotted config key; flags left unset change nothing
_FLAG_KEYS = {
    "data": "data.dataset", "annotations": "data.annotations", "split": "data.split", "clip_len": "data.clip_len",
    "frame_stride": "data.frame_stride", "batch_size": "data.batch_size", "workers": "data.num_workers",
    "model": "model.name", "pretrained": "model.pretrained", "finetune_from": "model.finetune_from",
    "lr": "optim.lr", "optimizer": "optim.optimizer", "epochs": "epochs", "out": "out", "name": "name",
    "seed": "seed", "device": "device", "max_steps": "max_steps", "modality": "data.modality",
    "flow_root": "data.flow_root",
}


def flag_updates(overrides, **flags) -> list[dict]:
    """The config changes the user asked for: --set overrides, then explicit flags (unset ones change nothing)."""
    from ..config import parse_override

    updates = [parse_override(text) for text in overrides]
    for flag, value in flags.items():
        if value is not None and flag in _FLAG_KEYS:
            updates.append(parse_override(f"{_FLAG_KEYS[flag]}={json.dumps(value)}"))
    return updates


def config_from_flags(recipe, overrides, **flags):
    """TrainConfig from defaults, then the recipe, then --set overrides, then explicit flags."""
    from ..config import TrainConfig, resolve

    return resolve(TrainConfig, recipe, *flag_updates(overrides, **flags))


def train_options(fn):
    options = [
        click.option("--config", "recipe", type=click.Path(), help="YAML recipe (see configs/)"),
        click.option("--data", help="dataset as LAYOUT:ROOT, e.g. hmdb51:/data/hmdb51"),
        click.option("--annotations", help="split/annotation files, when not under ROOT"),
        click.option("--split", type=click.IntRange(1, 3), help="official split (HMDB51/UCF101)"),
        click.option("--model", help="model name (see `motionlens models`)"),
        click.option("--pretrained", help="weights tag (kinetics400) or a .pth/.pt/.safetensors file"),
        click.option("--finetune-from", help="freeze every stage before this one, e.g. layer4"),
        click.option("--clip-len", type=int), click.option("--frame-stride", type=int),
        click.option("--batch-size", type=int), click.option("--workers", type=int, help="DataLoader workers"),
        click.option("--optimizer", type=click.Choice(["sgd", "adamw"])), click.option("--lr", type=float),
        click.option("--epochs", type=int), click.option("--seed", type=int),
        click.option("--device", help="auto | cpu | cuda | cuda:N"),
        click.option("--modality", type=click.Choice(["rgb", "diff", "rgb_diff", "flow", "rgb+flow"])),
        click.option("--flow-root", help="extracted flow (`motionlens flow --out`), for flow modalities"),
        click.option("--max-steps", type=int, help="cap on steps per epoch (quick checks)"),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                     help="any config key, e.g. --set optim.label_smoothing=0.1 (repeatable)"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command()
@train_options
@click.option("--out", help="parent folder of run folders (default runs/)")
@click.option("--name", help="run folder name")
@click.option("--resume", type=click.Path(), help="continue a run folder (or checkpoint) where it stopped")
def train(recipe, overrides, resume, **flags):
    """Fine-tune or train a model on a dataset.

    Example: motionlens train --data hmdb51:ROOT --split 1 --model r3d_18 --pretrained kinetics400
    --finetune-from layer4 --epochs 10"""
    from ..config import load_yaml
    from ..training.train import fit, resume_config

    if resume is not None:
        # The run's own config, changed only where asked (--epochs 20 extends it): a default here
        # would silently stretch a 3-epoch run to 10.
        cfg = resume_config(resume, *([load_yaml(recipe)] if recipe else []), *flag_updates(overrides, **flags))
    else:
        cfg = config_from_flags(recipe, overrides, **flags)
        if not cfg.data.dataset:
            raise click.UsageError("--data is required (or a --config recipe that sets data.dataset)")
    run_dir = fit(cfg, resume=resume)
    if int(os.environ.get("RANK", "0")) == 0:
        console_out.print(f"done: {run_dir}  (evaluate with: motionlens eval {run_dir})", markup=False)


@click.command("eval")
@click.argument("run_or_checkpoint", type=click.Path())
@click.option("--data", help="dataset as LAYOUT:ROOT (default: the one the run trained on)")
@click.option("--annotations", help="split/annotation files, when not under ROOT")
@click.option("--subset", type=click.Choice(["train", "val", "test"]),
              help="which part of the split to evaluate (default: test, else val); the split's number is "
                   "the run's data.split")
@click.option("--clips", type=click.IntRange(1, 100), help="uniform clips per video (default: the run's data.eval_clips)")
@click.option("--crops", type=click.Choice(["1", "3"]), help="spatial crops per clip (default: the run's data.eval_crops)")
@click.option("--batch-size", type=int, help="videos per batch")
@click.option("--workers", type=int)
@click.option("--device", default="auto", show_default=True)
@click.option("--out", type=click.Path(), help="output folder (default: RUN/eval-SUBSET)")
@click.option("--fuse-with", type=click.Path(), help="a flow-stream run: report spatial, temporal and fused accuracy")
@click.option("--flow-root", type=click.Path(), help="extracted flow for --fuse-with (default: the flow run's)")
@backend_options
def evaluate(run_or_checkpoint, data, annotations, subset, clips, crops, batch_size, workers, device, out,
             fuse_with, flow_root, backend, precision):
    """Clip- and video-level accuracy, confusion matrix, predictions.csv and an HTML report.

    With --fuse-with FLOW_RUN: the two-stream analysis, each stream and their late fusion (weight
    tuned on the validation subset) side by side. RUN_OR_CHECKPOINT may be an export folder
    (`motionlens export --format openvino`), with --data."""
    from ..deploy.export_dir import is_export_dir
    from ..training.evaluate import default_eval_dir, evaluate_checkpoint

    out = out or str(default_eval_dir(run_or_checkpoint, subset))
    if fuse_with:
        from ..training.fusion import evaluate_fusion, format_fusion_table

        result = evaluate_fusion(run_or_checkpoint, fuse_with, data=data, flow_root=flow_root, split=subset,
                                 out_dir=out, num_clips=clips, num_crops=int(crops) if crops else None, batch_size=batch_size,
                                 num_workers=workers, device=device, annotations=annotations)
        console_out.print(format_fusion_table(result), markup=False, soft_wrap=True)
        console_out.print(f"wrote {out}/fusion.json, fusion.md", markup=False)
        return
    common = dict(split=subset, num_clips=clips, num_crops=int(crops) if crops else None, batch_size=batch_size,
                  num_workers=workers, device=device, annotations=annotations)
    if (backend, precision) != ("auto", "auto") or is_export_dir(run_or_checkpoint):
        from ..deploy.runtime_eval import evaluate_runtime

        if device not in ("auto", "cpu"):
            raise click.UsageError("--backend/--precision and export folders evaluate on the CPU: --device cpu")
        result = evaluate_runtime(run_or_checkpoint, data, out, backend, precision, **common)
    else:
        result = evaluate_checkpoint(run_or_checkpoint, data, out, **common)
    console_out.print(f"checkpoint {result['checkpoint_note']}", markup=False, soft_wrap=True)
    unlabeled = f" ({result['num_unlabeled']} without labels, not scored)" if result["num_unlabeled"] else ""
    protocol = result["protocol"]
    console_out.print(f"{result['split']}: {result['num_videos']} videos{unlabeled}\n"
                  f"  video top-1 {result['video_top1']:.1%}  top-5 {result['video_top5']:.1%}  [{protocol}]\n"
                  f"  clip top-1 {result['clip_top1']:.1%}  [each clip x crop alone: {protocol}]\n"
                  f"  mean class accuracy {result['mean_class_accuracy']:.1%}  [{protocol}]",
                  markup=False, soft_wrap=True)
    console_out.print(f"wrote {out}/report.html, predictions.csv, confusion.png, metrics.json", markup=False)


@click.command("lr-find")
@train_options
@click.option("--start", default=1e-6, show_default=True, type=float)
@click.option("--end", default=1.0, show_default=True, type=float)
@click.option("--steps", default=60, show_default=True, type=click.IntRange(5, 10000))
@click.option("--out", default="lr_find.png", show_default=True, type=click.Path())
def lr_find(recipe, overrides, start, end, steps, out, **flags):
    """Plot loss against an exponentially growing learning rate and suggest a value."""
    from ..training.lr_find import lr_find as run

    cfg = config_from_flags(recipe, overrides, **flags)
    result = run(cfg, start=start, end=end, steps=steps, plot_path=out)
    suggestion = result["suggestion"]
    console_out.print(f"suggested lr: {suggestion:.2e}" if suggestion else "no clear minimum; try a wider range")
    console_out.print(f"wrote {out}", markup=False)


COMMANDS = [train, evaluate, lr_find]
