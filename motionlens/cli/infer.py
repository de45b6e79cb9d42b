"""CLI commands: `motionlens predict`, `motionlens watch`, `motionlens export`."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import click

from ..core.errors import TaskFailed
from ..core.progress import console, console_out
from .options import backend_options, engine_of, ray_flags


def model_options(fn):
    options = [
        click.option("--pretrained", help="weights for a model name: a tag (kinetics400) or a .pth/.safetensors file"),
        click.option("--clip-len", type=click.IntRange(1), help="frames per clip (default: the model's or run's)"),
        click.option("--fps", "target_fps", type=click.FloatRange(min=0, min_open=True),
                     help="resample clips to this frame rate first"),
        click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N"),
        click.option("--eager", is_flag=True, help="run the model as is, not traced and frozen (slower on CPU)"),
    ]
    fn = backend_options(fn)
    for option in reversed(options):
        fn = option(fn)
    return fn


def window_stride_option(help_text: str):
    """`--window-stride`, and `--stride`: its old name, hidden, kept working with a one-line notice."""

    def notice(ctx, param, value):
        if value is not None:
            click.echo("warning: --stride is deprecated; use --window-stride", err=True)
        return value

    def decorate(fn):
        fn = click.option("--stride", "old_stride", type=click.IntRange(1), hidden=True, callback=notice)(fn)
        return click.option("--window-stride", type=click.IntRange(1), help=help_text)(fn)

    return decorate


def _window_stride(window_stride: int | None, old_stride: int | None) -> int | None:
    if window_stride is not None and old_stride is not None and window_stride != old_stride:
        raise click.UsageError("--stride is the old name of --window-stride: give one of them")
    return window_stride if window_stride is not None else old_stride


def _model_id(model_or_run: str, pretrained: str | None, backend: str, precision: str) -> str:
    from ..deploy.archive import model_id

    runtime = "" if (backend, precision) == ("auto", "auto") else f"|{backend}|{precision}"
    return model_id(model_or_run, pretrained) + runtime


def _warn_untrained(model: str, pretrained: str | None) -> None:
    from ..models import get_weights, list_models

    if not pretrained and model in list_models():
        tags = ", ".join(get_weights(model)) or "none"
        console.print(f"[yellow]{model} has random weights: pass --pretrained (tags: {tags}) or a file, "
                      f"or a run folder trained with `motionlens train`")


@click.command()
@click.argument("model_or_run")
@click.argument("videos", nargs=-1, required=True)
@model_options
@window_stride_option("source frames between window starts (default: half a window)")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1), help="windows per forward pass")
@click.option("--out", default="predictions", show_default=True, type=click.Path(), help="folder for the JSON files")
@click.option("--format", "fmt", type=click.Choice(["motionlens", "hara"]), default="motionlens", show_default=True,
              help="hara: the JSON of Hara's video-classification-3d-cnn-pytorch --mode score")
@click.option("--output-video", type=click.Path(), help="draw predictions on the video: a file (one input) or a folder")
@click.option("--smooth", default=1, show_default=True, type=click.IntRange(1), help="moving average over N windows")
@click.option("--threshold", type=click.FloatRange(0, 1), help="add events: stretches of a class scoring at least this")
@click.option("--off-threshold", type=click.FloatRange(0, 1),
              help="hysteresis: an event ends below this (default: --threshold)")
@click.option("--overwrite", is_flag=True, help="redo videos already predicted into --out")
@click.option("--workers", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="worker processes, one video each (1: in this process, all cores for the model)")
@ray_flags
def predict(model_or_run, videos, pretrained, clip_len, target_fps, device, eager, backend, precision, window_stride,
            old_stride, top_k, batch_size, out, fmt, output_video, smooth, threshold, off_threshold, overwrite, workers, ray, ray_address):
    """Recognise actions along whole videos of any length with sliding windows.

    MODEL_OR_RUN is a run folder or checkpoint from `motionlens train`, or a model name with
    --pretrained. Writes OUT/<video>.json per video (segments tiling the video, video-level label,
    top-k); a video that cannot be read is reported and the others still run. Resumable: the same
    command again skips the videos already done.

    Example: motionlens predict x3d_xs --pretrained kinetics400 match.mp4 --output-video match_pred.mp4"""
    from ..deploy.archive import PredictSettings, annotated_paths, predict_files
    from ..deploy.predict import load_predictor

    if off_threshold is not None and threshold is None:
        raise click.UsageError("--off-threshold needs --threshold")
    window_stride = _window_stride(window_stride, old_stride)
    engine, address = engine_of(ray, ray_address)
    _warn_untrained(model_or_run, pretrained)
    predictor = load_predictor(model_or_run, pretrained=pretrained, device=device, clip_len=clip_len,
                               target_fps=target_fps, fast=not eager, backend=backend, precision=precision)
    predictor.runner(predictor.clips([predictor.blank()]))  # a precision this CPU lacks fails here, in one line
    settings = PredictSettings(window_stride=window_stride, batch_size=batch_size, top_k=top_k, smooth=smooth,
                               threshold=threshold, off_threshold=off_threshold, format=fmt,
                               annotate=bool(output_video))
    annotated = annotated_paths(output_video, videos)
    failed, done, skipped = [], 0, 0
    for video, outcome, was_done in predict_files(predictor, videos, out, settings, _model_id(model_or_run, pretrained, backend, precision),
                                                  annotated,
                                                  overwrite=overwrite, workers=workers, engine=engine,
                                                  ray_address=address):
        if not outcome.ok:
            failed.append(str(video))
            click.secho(f"error: {video}: {outcome.reason}", fg="red", err=True)
            continue
        done, skipped = done + 1, skipped + was_done
        s = outcome.value
        line = (f"{video}: {s['label']} ({s['score']:.2f}) | {s['segments']} segments | "
                + ("already done" if was_done else f"{s['realtime_factor']:.1f}x real time") + f" | {s['json']}")
        if s["events"] is not None:
            line += f" | {s['events']} events"
        if s["video_out"]:
            line += f" | {s['video_out']}"
        console_out.print(line, highlight=False, markup=False)
        if s["problem"]:
            click.secho(f"warning: {video}: {s['problem']}", fg="yellow", err=True)
    if skipped:
        console_out.print(f"{skipped} of {len(videos)} videos were already done in {out} (--overwrite redoes them)",
                          highlight=False, markup=False)
    if failed:
        raise TaskFailed(f"{len(failed)} of {len(videos)} videos failed: {', '.join(failed)} (reasons above; the "
                         f"others are in {out}, and the same command again retries only the failed ones)")


@click.command()
@click.argument("source_and_model", nargs=-1, required=True, metavar="[SOURCE] MODEL_OR_RUN")
@model_options
@click.option("--cameras", "cameras_file", type=click.Path(dir_okay=False),
              help="watch the cameras of this YAML file (name, source, alerts each) instead of SOURCE")
@click.option("--alert", "alerts", multiple=True, metavar="LABEL:THRESHOLD[:DURATION]",
              help="fire when LABEL scores >= THRESHOLD for DURATION, e.g. fight:0.8:2s (repeatable)")
@click.option("--cooldown", default="0s", show_default=True, metavar="DURATION",
              help="a rule does not fire again within this long after it fired (per rule)")
@click.option("--events", "events_file", type=click.Path(), help="write events (JSON lines) here, not to stdout")
@click.option("--webhook", help="POST each alert as JSON to this URL; failures are retried with backoff")
@click.option("--spool", type=click.Path(dir_okay=False), default="webhook_spool.jsonl", show_default=True,
              help="with --webhook: alerts not yet delivered are kept in this JSON-lines file and sent when the "
                   "endpoint is back (also by the next run)")
@click.option("--serve", "bind", metavar="HOST:PORT",
              help="serve the live view and its API here, e.g. 127.0.0.1:8080 (any other host needs --token)")
@click.option("--token", envvar="MOTIONLENS_WATCH_TOKEN", help="with --serve: every request must carry this token "
              "(Authorization: Bearer TOKEN or ?token=TOKEN); also read from $MOTIONLENS_WATCH_TOKEN")
@click.option("--alert-clips", "clips_dir", type=click.Path(file_okay=False),
              help="keep a JPEG snapshot and an MP4 clip of each alert in this folder")
@click.option("--clip-before", default=3.0, show_default=True, type=click.FloatRange(0, 30),
              help="seconds of each alert clip before the alert")
@click.option("--clip-after", default=3.0, show_default=True, type=click.FloatRange(0, 30),
              help="seconds of each alert clip after the alert")
@click.option("--keep-alerts", default=200, show_default=True, type=click.IntRange(1),
              help="alerts whose media are kept; the oldest are removed first")
@click.option("--realtime/--no-realtime", default=None, help="play a file at its frame rate (default: on for files)")
@window_stride_option("source frames between window starts (default: half a window)")
@click.option("--smooth", default=1, show_default=True, type=click.IntRange(1), help="mean over the last N windows")
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1),
              help="with --cameras: most windows (of any cameras) per forward pass")
@click.option("--max-retries", default=5, show_default=True, type=click.IntRange(0),
              help="reconnection attempts in a row before giving up")
@click.option("--retry-delay", default=1.0, show_default=True, type=click.FloatRange(0),
              help="first reconnection delay in seconds (doubles each attempt, up to 5 s)")
@click.option("--report-every", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="seconds between real-time factor reports")
@click.option("--emit-windows", is_flag=True, help="also emit every window's top label as an event")
def watch(source_and_model, pretrained, clip_len, target_fps, device, eager, backend, precision, cameras_file, alerts,
          cooldown, events_file, webhook, spool, bind, token, clips_dir, clip_before, clip_after, keep_alerts, realtime,
          window_stride, old_stride, smooth, batch_size, max_retries, retry_delay, report_every, emit_windows):
    """Watch a file, an RTSP/HTTP stream or a webcam (index), or several cameras, and raise alerts as they happen.

    Events are JSON lines: "alert" (a rule fired), "alert_end" (its score fell back), "status"
    (every --report-every seconds) and "summary"; with --cameras each carries "camera". Never
    falls behind without bound: when inference is slower than the source, stale frames are
    dropped and counted. --serve shows the cameras, their scores and the alerts in a browser.

    Examples: motionlens watch rtsp://cam/stream runs/fights --alert fight:0.8:2s --webhook http://hooks/alert
    | motionlens watch --cameras cameras.yaml runs/fights --serve 127.0.0.1:8080 --alert-clips alerts/"""
    from ..deploy.cameras import check_rules
    from ..deploy.media import MediaStore
    from ..deploy.monitor import Monitor, WatchOptions, live_state
    from ..deploy.predict import load_predictor
    from ..deploy.serve import check_bind, serve

    cameras, model_or_run, where = _watch_cameras(source_and_model, cameras_file, alerts, cooldown)
    if bind:
        check_bind(bind, token)
    window_stride = _window_stride(window_stride, old_stride)
    options = WatchOptions(window_stride, realtime, smooth, max_retries, retry_delay, report_every, emit_windows,
                           clip_before, clip_after, batch_size)
    media = MediaStore(clips_dir, keep_alerts) if clips_dir else None
    live = live_state(cameras, media)
    server = serve(live, bind, token) if bind else None  # before the model loads: a busy port fails at once
    try:
        _warn_untrained(model_or_run, pretrained)
        predictor = load_predictor(model_or_run, pretrained=pretrained, device=device, clip_len=clip_len,
                                   target_fps=target_fps, fast=not eager, backend=backend, precision=precision)
        predictor.runner(predictor.clips([predictor.blank()]))  # a precision this CPU lacks fails here, in one line
        check_rules(cameras, predictor.classes, where)
        outcomes = _run_monitor(lambda sink, log, on_status: Monitor(
            predictor, cameras, sink, options, media, log, on_status, tag_camera=bool(cameras_file), live=live),
            server, token, events_file, webhook, spool)
    finally:
        if server is not None:
            server.stop()
    failed = [name for name, outcome in outcomes.items() if isinstance(outcome, Exception)]
    if failed and len(failed) == len(outcomes):
        raise TaskFailed(f"every camera failed: {'; '.join(f'{n}: {outcomes[n]}' for n in failed)}")


def _run_monitor(make_monitor, server, token: str | None, events_file: str | None, webhook: str | None,
                 spool: str) -> dict:
    """Run the Monitor `make_monitor(sink, log, on_status)` with its events going to `events_file`
    (or stdout) and `webhook`; with a server, keep serving after every camera stopped, until
    Ctrl-C. Returns the outcomes."""
    from rich.markup import escape

    from ..deploy.watch import format_status
    from ..deploy.webhook import EventSink

    stream = open(events_file, "w", encoding="utf-8") if events_file else sys.stdout

    def log(message: str) -> None:
        console.print(f"[yellow]{escape(message)}", soft_wrap=True)

    def on_status(name: str, status: dict) -> None:
        prefix = "done" if status["event"] == "summary" else "watching"
        shown = f"{name}: " if monitor.tag_camera else ""
        console.print(f"{shown}{prefix}: {format_status(status)}", highlight=False, markup=False, soft_wrap=True)

    monitor = make_monitor(EventSink(stream, webhook, warn=log, spool=spool), log, on_status)
    try:
        if server is not None:
            monitor.base_url = server.url
            console.print(f"live view: {server.url}" + ("?token=..." if token else ""), highlight=False)
        outcomes = monitor.run()
        if server is not None:
            console.print(f"every camera has stopped; still serving {server.url} (Ctrl-C to stop)", highlight=False)
            threading.Event().wait()
        return outcomes
    finally:
        monitor.sink.close()
        if events_file:
            stream.close()


def _watch_cameras(args: tuple[str, ...], cameras_file: str | None, alerts: tuple[str, ...], cooldown: str):
    """(cameras, model_or_run, where rules come from) from `watch`'s arguments."""
    from ..deploy.cameras import CameraConfig, load_cameras
    from ..deploy.watch import AlertRule, parse_duration

    cooldown_sec = parse_duration(cooldown)
    if cameras_file:
        if len(args) != 1:
            raise click.UsageError("with --cameras, give only MODEL_OR_RUN (the sources are in the cameras file)")
        if alerts:
            raise click.UsageError("with --cameras, each camera's rules go in the cameras file (alerts:)")
        return load_cameras(cameras_file, cooldown_sec), args[0], cameras_file
    if len(args) != 2:
        raise click.UsageError("give SOURCE and MODEL_OR_RUN, or --cameras FILE and MODEL_OR_RUN")
    rules = [AlertRule(r.label, r.threshold, r.min_duration, cooldown_sec) for r in map(AlertRule.parse, alerts)]
    return [CameraConfig("camera", args[0], rules)], args[1], ""


@click.command()
@click.argument("model_or_run")
@click.option("--format", "fmt", type=click.Choice(["onnx", "openvino"]), help="default: onnx with --onnx, else openvino")
@click.option("--out", type=click.Path(file_okay=False), help="openvino: the folder to write (IR, classes, input contract)")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "int8"]), default="fp32", show_default=True,
              help="openvino: int8 is calibrated on --calibration clips; bf16 needs a CPU with native bf16")
@click.option("--calibration", metavar="DATA", help="openvino: a folder of videos or LAYOUT:ROOT to calibrate int8 and "
              "check accuracy on (default for a run: its training data)")
@click.option("--calibration-clips", default=64, show_default=True, type=click.IntRange(1, 10000))
@click.option("--guard-clips", default=100, show_default=True, type=click.IntRange(1, 10000),
              help="held-out clips the accuracy guard compares with fp32 on")
@click.option("--force", is_flag=True, help="write the export even when it agrees with fp32 on < 99%% of clips")
@click.option("--onnx", "onnx_path", type=click.Path(), help="onnx: output .onnx file")
@click.option("--opset", default=17, show_default=True, type=click.IntRange(7))
@click.option("--pretrained", help="weights for a model name: a tag (kinetics400) or a file")
@click.option("--clip-len", type=click.IntRange(1), help="frames per clip (default: the model's or run's)")
@click.option("--no-check", is_flag=True, help="onnx: skip comparing the ONNX output with PyTorch")
def export(model_or_run, fmt, out, precision, calibration, calibration_clips, guard_clips, force, onnx_path, opset,
           pretrained, clip_len, no_check):
    """Export a model or trained run to OpenVINO (a folder that predict, watch and eval take as
    the model) or to ONNX (dynamic batch), checked against PyTorch.

    OpenVINO: the exported model must agree with PyTorch fp32 on >= 99% of held-out clips, or the
    export is refused (--force writes it anyway, and records that). Example:
    motionlens export runs/fights --format openvino --precision int8 --out fights-int8

    ONNX: the check uses onnxruntime (pip install 'motionlens[onnx]'). Class names and the input
    pipeline are written beside the file as <name>.json."""
    fmt = fmt or ("onnx" if onnx_path else "openvino")
    if fmt == "openvino":
        if not out or onnx_path:
            raise click.UsageError("--format openvino writes a folder: give --out DIR (not --onnx)")
        from ..deploy.export import export_openvino

        meta = export_openvino(model_or_run, out, precision=precision, calibration=calibration, pretrained=pretrained,
                               clip_len=clip_len, calibration_clips=calibration_clips, guard_clips=guard_clips,
                               force=force)
        guard = meta["guard"]
        console_out.print(f"wrote {out} (openvino {precision}, input video {tuple(meta['input']['shape'])}, dynamic "
                          f"batch) | {precision} vs fp32 on {guard['clips']} held-out clips: top-1 agreement "
                          f"{guard['top1_agreement']:.1%}, largest logit error {guard['max_logit_error']:.3g}"
                          + (" | FORCED below the guard" if guard["forced"] else ""), highlight=False, markup=False,
                          soft_wrap=True)
        return
    if not onnx_path or out or precision != "fp32":
        raise click.UsageError("--format onnx writes one file: give --onnx FILE (fp32; --out and --precision are openvino's)")
    from ..deploy.export import export_onnx

    result = export_onnx(model_or_run, onnx_path, opset=opset, pretrained=pretrained, clip_len=clip_len,
                         check=not no_check)
    console_out.print(f"wrote {result['path']} (input video {tuple(result['input_shape'])}, dynamic batch) and "
                      f"{Path(result['path']).with_suffix('.json')}", highlight=False, markup=False)
    if result["message"]:
        console.print(result["message"], highlight=False)


COMMANDS = [predict, watch, export]
