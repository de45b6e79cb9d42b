"""Read a video's metadata: from its headers, or exactly, from the frames the decoders give."""

from __future__ import annotations

import math
import os
from dataclasses import replace

from ..core.errors import VideoError
from .container import VIDEO_EXTENSIONS, VideoInfo, _count_from_sample_table, _rotation, open_video, stream_header  # noqa: F401 (VIDEO_EXTENSIONS, VideoInfo are this module's public names too)
from .frame_dir import frame_folder
from .frame_table import frame_table


def probe(path: str | os.PathLike, default_fps: float = 25.0, exact: bool = False, rotate: bool = True) -> VideoInfo:
    """Metadata of a video file or a folder of extracted frames.

    `default_fps` is used for frame folders, which store no rate. Headers alone give `num_frames`
    as the container claims it (`frames_estimated=True`: it may be wrong, e.g. VFR AVIs count the
    frames they dropped, truncated files the frames they lost). `exact=True` demuxes the file (and
    decodes it, for AVIs with B-frames) through the cached `FrameTable`, so `num_frames` is what
    the decoders give, and fills in `vfr` and `ends_early`. With `rotate` (as the decoders do by
    default) width and height are those of the upright picture."""
    folder = frame_folder(path, default_fps)
    if folder is not None:
        return folder.probe()
    with open_video(path) as (container, stream):
        fps, num_frames, duration, _ = stream_header(container, stream)
        if num_frames <= 0:
            num_frames = int(math.floor(duration * fps + 0.5))
        if duration <= 0 and fps > 0:
            duration = num_frames / fps
        width, height = int(getattr(stream, "width", 0) or 0), int(getattr(stream, "height", 0) or 0)
        codec = stream.codec_context.name
        rotation = _rotation(container, stream) if width else 0
    if fps <= 0 or num_frames <= 0 or not width:
        raise VideoError(path, "video stream has no frames or no frame rate (truncated or corrupt)")
    if rotate and rotation % 180:
        width, height = height, width
    info = VideoInfo(path=str(path), fps=fps, num_frames=num_frames, duration=duration, width=width, height=height,
                     codec=codec, rotation=rotation, frames_estimated=True)
    if not exact:
        return info
    counted = _count_from_sample_table(path)
    if counted is not None:
        return replace(info, num_frames=counted[0], frames_estimated=False, vfr=counted[1])
    table = frame_table(path)
    return replace(info, num_frames=len(table), frames_estimated=False, vfr=table.vfr, ends_early=table.ends_early)
