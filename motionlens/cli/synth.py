"""CLI command: `motionlens synth`, a synthetic action dataset in a real dataset's layout."""

from __future__ import annotations

import click

from ..dataprep import synth as synth_data
from .options import hw_list_callback, seconds_range_callback

_CODECS = ("auto", "libx264", "mpeg4", "xvid", "divx", "mjpeg", "libvpx-vp9")


def _parse_fps(ctx, param, value: str) -> list[float]:
    """"25" or "15,25,30" (one picked per video)."""
    try:
        rates = [float(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a frame rate or a comma list (e.g. 25 or 15,25,30)") from None
    if any(not 0 < r <= 240 for r in rates):
        raise click.BadParameter(f"frame rates must be in (0, 240], got '{value}'")
    return rates


@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--layout", type=click.Choice(synth_data.LAYOUTS + ("ava",)), default="folder", show_default=True,
              help="Dataset layout and split files to write (ava: actors with boxes, see motionlens.dataprep.synth_ava).")
@click.option("--classes", "num_classes", type=click.IntRange(1, len(synth_data.CLASSES)), default=4,
              show_default=True, help="Number of motion classes, the first N of: " + ", ".join(synth_data.CLASSES))
@click.option("--videos-per-class", type=click.IntRange(1), default=10, show_default=True)
@click.option("--size", default="240x320", show_default=True, callback=hw_list_callback,
              help="HxW, or a comma list to pick from per video.")
@click.option("--fps", default="25", show_default=True, callback=_parse_fps,
              help="Frame rate, or a comma list to pick from per video.")
@click.option("--duration", default="1-10", show_default=True, callback=seconds_range_callback,
              help="Seconds per video: MIN-MAX (uniform) or one number.")
@click.option("--codec", type=click.Choice(_CODECS), default="auto", show_default=True,
              help="auto: H.264 mp4, or XVID avi for hmdb51/ucf101.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Delete OUT's contents first if it is not empty.")
def synth(out, layout, num_classes, videos_per_class, size, fps, duration, codec, seed, overwrite) -> None:
    """Write a synthetic action dataset to OUT: real encoded videos in a real dataset's layout."""
    from ..core.progress import progress_counter

    if layout == "ava":
        from ..dataprep.synth_ava import synthesize_ava

        with progress_counter("synth", unit="videos") as progress:
            made = synthesize_ava(out, videos_per_class * num_classes, size[0], fps[0], round(duration[1]),
                                  min(num_classes, 4), seed=seed, progress=progress)
        return click.echo(f"wrote {len(made.videos)} videos with AVA annotations to {made.root}; "
                          f"label map {made.labelmap}")
    with progress_counter("synth", unit="videos") as progress:
        dataset = synth_data.synthesize(
            out, layout=layout, num_classes=num_classes, videos_per_class=videos_per_class,
            size=size, fps=fps if len(fps) > 1 else fps[0], duration=duration,
            codec=None if codec == "auto" else codec, seed=seed, overwrite=overwrite,
            progress=progress,
        )
    click.echo(f"wrote {dataset.num_videos} videos, {len(dataset.classes)} classes "
               f"({', '.join(dataset.classes)}), layout {dataset.layout}, to {dataset.root}; "
               f"use --data {dataset.spec}")


COMMANDS = [synth]
