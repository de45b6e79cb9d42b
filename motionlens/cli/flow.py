"""CLI commands: `motionlens flow` (extract optical flow for a dataset) and `motionlens flow-show`."""

from __future__ import annotations

import click

from ..core.progress import console, console_out
from .data import annotations_option, index_with_progress, layout_option, split_option
from .options import engine_of, ray_flags


@click.command("flow")
@click.argument("root")
@layout_option
@split_option
@annotations_option
@click.option("--method", type=click.Choice(["farneback", "tvl1", "dis"]), default="farneback", show_default=True,
              help="tvl1 is the papers' flow but needs `pip install motionlens[tvl1]`; dis is the fastest")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="flow root (outside ROOT)")
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True, help="processes, one video each")
@click.option("--short-side", type=click.IntRange(16),
              help="resize frames to this short side first (default: as stored)")
@click.option("--format", "fmt", type=click.Choice(["jpeg", "video"]), default="jpeg", show_default=True,
              help="jpeg: flow_x_00001.jpg/flow_y_00001.jpg per frame; video: lossless x.mp4/y.mp4 per video")
@click.option("--quality", type=click.IntRange(50, 100), default=95, show_default=True, help="JPEG quality")
@click.option("--overwrite", is_flag=True, help="redo videos that already have flow")
@ray_flags
def flow(root, layout, split, annotations, method, out, workers, short_side, fmt, quality, overwrite, ray, ray_address):
    """Compute dense optical flow for every video under ROOT, stored 8-bit (+-20 px) under --out.

    Resumable: run the same command again and finished videos are skipped. Example:
    motionlens flow /data/hmdb51 --layout hmdb51 --method farneback --out /data/hmdb51_flow --short-side 256"""
    from ..core.errors import TaskFailed
    from ..dataprep.flow import extract_dataset, make_flow_fn

    engine, address = engine_of(ray, ray_address)
    make_flow_fn(method)  # a missing TV-L1 is reported before indexing a large dataset
    index = index_with_progress(root, layout, split, annotations)
    report = extract_dataset(index, out, method=method, size=short_side, fmt=fmt, workers=workers, quality=quality,
                             overwrite=overwrite, engine=engine, ray_address=address)
    rate = f" ({report.flow_frames / report.seconds:.1f} flow frames/s)" if report.extracted and report.seconds else ""
    # Paths are printed whole and verbatim: no wrapping, and no markup ("[HD]" in a name is text).
    console_out.print(f"{len(report.extracted)} extracted, {len(report.skipped)} already done, "
                      f"{len(report.failed)} failed, in {report.out}{rate}", markup=False)
    if report.failed:
        for path, reason in report.failed:
            console.print(f"failed: {path}: {reason}", style="red", markup=False, soft_wrap=True)
        raise TaskFailed(f"{len(report.failed)} of {report.total} videos failed (listed above); the others are "
                              "done, and running the same command again retries only the failed ones")


@click.command("flow-show")
@click.argument("source", type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="folder for the PNGs and flow.mp4")
@click.option("--method", type=click.Choice(["farneback", "tvl1", "dis"]), default="farneback", show_default=True,
              help="when SOURCE is a video")
@click.option("--short-side", type=click.IntRange(16), help="resize frames to this short side first (videos only)")
@click.option("--images", type=click.IntRange(0, 1000), default=8, show_default=True, help="evenly spaced PNGs")
@click.option("--max-magnitude", type=click.FloatRange(min=0, min_open=True),
              help="pixels per frame shown at full brightness (default: 99th percentile)")
def flow_show(source, out, method, short_side, images, max_magnitude):
    """Colour-wheel pictures (hue = direction, brightness = magnitude) of a video's flow or a flow folder."""
    from ..dataprep.flow_visualize import show_flow

    result = show_flow(source, out, method=method, size=short_side, num_images=images, max_magnitude=max_magnitude)
    console_out.print(f"{result['num_flow_frames']} flow frames, full brightness at {result['max_magnitude']:.2f} px: "
                      f"wrote {len(result['images'])} PNGs, {result['video']} and {result['wheel']}", markup=False)


COMMANDS = [flow, flow_show]
