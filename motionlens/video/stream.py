"""Sequential decoding with memory bounded by one frame: files, frame folders, URLs and webcams.

Frame numbers and times of a file are those of its `FrameTable` when its timestamps number the
frames; otherwise (AVI without a table, live sources) output order numbers them."""

from __future__ import annotations

import os
from typing import Iterator

import av

from ..core.errors import VideoError
from .container import check_file, legacy_rotation, open_video, stream_header
from .frame_dir import frame_folder
from .frame_table import TRUSTED_FORMATS, cached_table, decode_packets, frame_table
from .frames import DecodeReport, Frame, Size, converter, set_threads
from .index_counts import avi_probe


def check_decode(path: str | os.PathLike) -> str | None:
    """Decode every frame of a file (converting almost none): None when all is well, else one line
    naming what is wrong ("decoded 16 of 100 frames ..."). Raises VideoError for an unreadable file."""
    report = DecodeReport()
    for _ in iter_frames(path, size=32, step=1 << 62, report=report):
        pass
    return report.problem()


def open_source(source: str | int | os.PathLike, timeout: float = 10.0):
    """Open a file, an RTSP/HTTP URL or a webcam index (int or "0") with PyAV; VideoError on failure."""
    source_str = str(source)
    options: dict[str, str] = {}
    fmt = None
    if isinstance(source, int) or source_str.isdigit():
        fmt, source_str = "v4l2", f"/dev/video{int(source_str)}"
    elif "://" in source_str:
        if source_str.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        options["rw_timeout"] = str(int(timeout * 1e6))
    else:
        check_file(source_str)
    try:
        container = av.open(source_str, format=fmt, options=options, timeout=timeout, metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise VideoError(source_str, "not a video file (no known container format)") from None
    except av.error.ExitError:  # a Ctrl-C while connecting: not a connection failure to retry
        raise KeyboardInterrupt from None
    except (av.error.FFmpegError, OSError) as err:
        raise VideoError(source_str, f"cannot open: {getattr(err, 'strerror', None) or err}") from None
    if not container.streams.video:
        container.close()
        raise VideoError(source_str, "no video stream")
    return container


def iter_frames(source: str | int | os.PathLike, size: Size = None, step: int = 1, rotate: bool = True,
                report: DecodeReport | None = None) -> Iterator[Frame]:
    """Stream frames from a file, frame folder, URL or webcam with memory bounded by one frame.

    `step` keeps every step-th frame (indices stay those of the source). Frame numbers and times
    of a file are those of `read_frames` and `frame_times`. Corrupt data is skipped: the frames it
    hits do not come out, and the rest keep their numbers. `report`, when given, is filled in
    with the frames decoded, damaged and whether the file ends early."""
    report = report if report is not None else DecodeReport()
    report.path = str(source)
    folder = frame_folder(source)
    if folder is not None:
        yield from folder.iter(size, step, report)
        return
    table = None
    if not isinstance(source, int) and "://" not in str(source):
        path = check_file(source)
        table = cached_table(path)
        if table is None:
            with open_video(path) as (container, stream):
                if TRUSTED_FORMATS & set(container.format.name.split(",")):
                    table = frame_table(path)  # demuxing only: cheap
        if table is not None and not table.exact:
            table = None  # no timestamps to number frames by: output order is the numbering
    container = open_source(source)
    stream = container.streams.video[0]
    set_threads(stream)
    fps, header_frames, header_duration, time_base = stream_header(container, stream)
    legacy = legacy_rotation(stream) if rotate else 0
    # Without a table (AVI, live streams) times count from the first frame: by the decoder's
    # timestamps (pts of a stream; the AVI time grid, as `frame_times` does) when they increase.
    use_dts = "://" not in str(source) and not isinstance(source, int)
    first_ts, last_time, errors, corrupt = None, float("nan"), [0], 0
    convert = converter(size, legacy, rotate)
    try:
        for count, frame in enumerate(decode_packets(container, stream, errors)):
            index = table.index_of(frame.pts) if table is not None else count
            if index is None:
                continue
            ts = frame.dts if use_dts else frame.pts
            if table is not None:
                time = float(table.times[index])
            elif ts is not None:
                first_ts = ts if first_ts is None else first_ts
                time = float((ts - first_ts) * time_base)
            else:
                time = float("nan")
            last_time = time
            report.frames += 1
            corrupt += bool(frame.is_corrupt)
            if index % step == 0:
                yield Frame(index, time, convert(frame))
    except av.error.FFmpegError as err:  # (a Ctrl-C inside a read: decode_packets raises KeyboardInterrupt)
        raise VideoError(str(source), f"decoding failed (corrupt, truncated or dropped): {err}") from None
    finally:
        container.close()
    if table is not None:
        report.expected, report.ends_early = table.expected_frames, table.ends_early
        report.damaged = max(len(table) - report.frames, 0) + corrupt
        report.num_frames = len(table)
    elif (counted := avi_probe(source) if use_dts else None) is not None:
        # An AVI's own index counts its frames exactly (packed B-frames' placeholder chunks are no
        # frames, though its header counts them): fewer decoded is frames lost at the end.
        report.expected, report.num_frames = counted.num_frames, counted.num_frames
        report.damaged = errors[0] + corrupt
        report.ends_early = report.frames + errors[0] < counted.num_frames
    else:
        report.expected = header_frames or int(round(header_duration * fps))
        step_s = 1.0 / fps if fps else 0.04
        end = (last_time if last_time == last_time else -step_s) + step_s
        report.ends_early = header_duration > 0 and end < header_duration - max(3 * step_s, 0.002 * header_duration)
        report.damaged = errors[0] + corrupt
        report.num_frames = report.frames + errors[0]
