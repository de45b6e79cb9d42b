"""Exact random-access frame reading and a bounded-memory streaming decoder.

Contract: frames come back as uint8 RGB arrays, `(T, H, W, C)` for a clip, upright (the
container's display rotation applied unless `rotate=False`).

One definition of a frame everywhere: frame k is the k-th frame a full sequential decode
outputs, which is display order. A `FrameTable`, built once per file and cached, lists those
frames with the timestamp each decoded frame carries, its time and the places a decode can start
from. Reads seek to the start point at or before the first wanted frame and decode forward,
identifying every frame by its timestamp; a read that cannot be proven exact falls back to
decoding from the start, and says so once per file.

How the table is built depends on whether the container's timestamps can be trusted:
- MP4/MOV, Matroska/WebM, MPEG-TS... store each frame's presentation time: the table comes from
  demuxing alone (no decoding). Packets an edit list hides are decoded but never shown, so they
  are not frames; they remain start points.
- AVI stores no presentation times. Without B-frames, decode order is display order and the
  packets' timestamps (their position in the file's time grid) are the frames'. With B-frames
  FFmpeg's guessed timestamps are not display order (XviD/DivX, packed or not), so the file is
  decoded once and the decoder's output order is recorded.

Damaged data: a packet the decoder rejects is skipped and decoding goes on. A wanted frame that
never comes out is damaged; it is filled with the nearest decoded frame of the same read and
counted (`read_clip` returns which), so the rest of the video keeps its frame numbers.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from ..core.errors import VideoError
from . import frame_dir
from .container import VideoInfo, check_file, frame_rate_varies, legacy_rotation, open_video, stream_header

log = logging.getLogger(__name__)

Size = int | tuple[int, int] | None  # int: short side; (H, W): exact; None: as stored

_MAX_PIXELS = 1 << 26  # 8192 x 8192: a damaged header claiming more must not allocate gigabytes
# Formats whose packets carry the presentation time the encoder wrote (FFmpeg's format names).
_TRUSTED_FORMATS = {"mov", "mp4", "matroska", "webm", "mpegts", "flv", "mpeg", "ogg", "asf", "ivf", "nut"}


def output_size(height: int, width: int, size: Size) -> tuple[int, int] | None:
    """(H, W) a frame of `height` x `width` is resized to, or None to keep it."""
    if size is None:
        return None
    if isinstance(size, int):  # short side; the long side is truncated, as torchvision's Resize does
        if height <= width:
            return size, int(size * width / height)
        return int(size * height / width), size
    return (int(size[0]), int(size[1]))


def frame_rotation(frame: av.VideoFrame, legacy: int = 0) -> int:
    """Counter-clockwise degrees (0, 90, 180, 270) that make `frame` upright: its display matrix,
    else the stream's legacy `rotate` tag (passed as `legacy`)."""
    degrees = getattr(frame, "rotation", 0) or legacy
    return int(round(degrees / 90.0)) % 4 * 90


def frame_to_array(frame: av.VideoFrame, size: Size = None, rotation: int = 0,
                   reformatter: VideoReformatter | None = None) -> np.ndarray:
    """An av.VideoFrame as uint8 RGB (H, W, 3), resized bilinearly by swscale while converting and
    turned `rotation` degrees counter-clockwise; `size` applies to the turned picture.

    Pass one `reformatter` for all frames of a read: `VideoFrame.to_ndarray` sets up a new
    swscale context for every frame, which costs ten times the conversion itself on 320x240."""
    if frame.width * frame.height > _MAX_PIXELS or frame.width <= 0 or frame.height <= 0:
        raise av.error.InvalidDataError(0, f"implausible frame size {frame.width}x{frame.height}")
    quarter = rotation // 90 % 4
    height, width = (frame.width, frame.height) if quarter % 2 else (frame.height, frame.width)
    target = output_size(height, width, size)
    reformatter = reformatter or VideoReformatter()
    # threads=1: PyAV's default (0) hands every frame to a pool of one swscale thread per core,
    # which costs more CPU than it saves up to 1280x720 (benchmarks/RESULTS.md).
    if target is None:
        image = reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray()
    else:
        if quarter % 2:
            target = (target[1], target[0])
        image = reformatter.reformat(frame, format="rgb24", height=target[0], width=target[1],
                                     interpolation="BILINEAR", threads=1).to_ndarray()
    return np.ascontiguousarray(np.rot90(image, quarter)) if quarter else image


@dataclass(frozen=True)
class FrameTable:
    """Every frame of a video file's first video stream, in display order.

    Frame k is the k-th frame a full sequential decode outputs. `pts[k]` is the timestamp that
    decoded frame carries (the key reads identify frames by) and `times[k]` its time in seconds
    from frame 0. A decode that starts by seeking to `seek_pts[j]` outputs frames
    `seek_first[j]`, `seek_first[j] + 1`, ... exactly (leading frames with smaller numbers may come
    first and are dropped). `decode_pos[k]` is the position of frame k's packet in decode order
    and `keyframe[k]` says whether that packet starts a decode (stream copy needs both)."""

    pts: np.ndarray  # (N,) int64
    times: np.ndarray  # (N,) float64 seconds from frame 0
    decode_pos: np.ndarray  # (N,) int64
    keyframe: np.ndarray  # (N,) bool
    seek_pts: np.ndarray  # (K,) int64, stream time base
    seek_first: np.ndarray  # (K,) int64, ascending
    time_base: float
    fps: float  # nominal frame rate from the headers
    header_frames: int  # what the container claims (0: it does not say)
    header_duration: float  # seconds the container claims (0: it does not say)
    exact: bool  # False: frames carry no usable timestamps; only sequential decoding numbers them
    damaged: int = 0  # packets rejected while the table was built by decoding
    # one frame per packet, so a packet of an unwanted frame may be skipped; not so for AVIs with
    # packed B-frames (DivX/XviD put two frames in one chunk and an empty placeholder in the next)
    skippable: bool = False
    order: np.ndarray = field(init=False, repr=False)  # argsort of pts, for index_of

    def __post_init__(self):
        object.__setattr__(self, "order", np.argsort(self.pts, kind="stable"))  # frozen: set once here

    def __len__(self) -> int:
        return len(self.pts)

    @property
    def vfr(self) -> bool:
        """True when frame intervals vary (beyond timestamp rounding)."""
        return frame_rate_varies(self.times)

    @property
    def ends_early(self) -> bool:
        """True when the frames stop well before the duration the container claims (truncation)."""
        if not len(self.times) or self.header_duration <= 0:
            return False
        step = 1.0 / self.fps if self.fps > 0 else 0.04
        end = float(self.times[-1]) + step
        return end < self.header_duration - max(3 * step, 0.002 * self.header_duration)

    @property
    def expected_frames(self) -> int:
        """Frames the container promised: its count, else duration x fps."""
        return self.header_frames or int(round(self.header_duration * self.fps))

    def problem(self) -> str | None:
        """One line naming a truncation or damage that demuxing (or the decoding pass) found, or None."""
        return DecodeReport(frames=len(self), expected=self.expected_frames, damaged=self.damaged,
                            num_frames=len(self) + self.damaged, ends_early=self.ends_early).problem()

    def index_of(self, pts: int | None) -> int | None:
        """Frame number of a decoded frame's timestamp, or None when no frame has it."""
        if pts is None or not self.exact:
            return None
        i = int(np.searchsorted(self.pts, pts, sorter=self.order))
        return int(self.order[i]) if i < len(self.order) and self.pts[self.order[i]] == pts else None

    def seek_point(self, index: int) -> int:
        """Which start point (position in seek_pts) to use for frame `index`."""
        return max(int(np.searchsorted(self.seek_first, index, side="right")) - 1, 0)


_TABLES: OrderedDict[tuple, FrameTable] = OrderedDict()
_TABLES_MAX = 4096  # a table is a few KB; a whole HMDB51/UCF101 split fits
_TABLES_LOCK = threading.Lock()  # the index probes files from a thread pool
_WARNED: set[str] = set()


def _warn_once(path: Path | str, message: str) -> None:
    key = f"{path}:{message}"
    if key not in _WARNED:
        _WARNED.add(key)
        log.warning("%s: %s", path, message)


def frame_table(path: str | os.PathLike) -> FrameTable:
    """The FrameTable of a video file, cached by path, size and mtime. Raises VideoError.

    Tables that took a decoding pass (AVI with B-frames) are also kept on disk: DataLoader
    workers start afresh every epoch and each touches a video about once per epoch, so without
    it every training clip of such a file paid a full decode of the file."""
    path = check_file(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _TABLES_LOCK:
        table = _TABLES.get(key)
        if table is not None:
            _TABLES.move_to_end(key)
            return table
    table = _load_table(key)
    if table is None:
        try:
            table = _build_table(path, key)
        except (av.error.FFmpegError, ValueError, OverflowError) as err:  # headers that parse, data that does not
            raise VideoError(path, f"unreadable (corrupt or truncated): {err}") from None
    elif not table.exact:
        _warn_once(path, _NO_TIMESTAMPS)
    with _TABLES_LOCK:
        _TABLES[key] = table
        if len(_TABLES) > _TABLES_MAX:
            _TABLES.popitem(last=False)
    return table


def _cached_table(path: Path) -> FrameTable | None:
    stat = path.stat()
    return _TABLES.get((str(path.resolve()), stat.st_size, stat.st_mtime_ns))


_NO_TIMESTAMPS = "frames carry no usable timestamps: every read decodes from the start (slow but exact)"
_TABLE_ARRAYS = ("pts", "times", "decode_pos", "keyframe", "seek_pts", "seek_first")
_TABLE_SCALARS = ("time_base", "fps", "header_frames", "header_duration", "exact", "damaged", "skippable")


def _table_file(key: tuple) -> Path:
    # The decoder's version is part of the key: its output order is what the table records.
    digest = hashlib.sha1(f"v1:{key}:{av.library_versions.get('libavcodec')}".encode()).hexdigest()[:20]
    root = Path(os.environ.get("MOTIONLENS_CACHE", Path.home() / ".cache" / "motionlens"))
    return root / "frame_tables" / f"{digest}.npz"


def _load_table(key: tuple) -> FrameTable | None:
    """The table stored for `key` by `_save_table`, or None (absent or unreadable: rebuilt)."""
    try:
        with np.load(_table_file(key), allow_pickle=False) as data:
            values = {name: data[name] for name in _TABLE_ARRAYS}
            values.update({name: data[name].item() for name in _TABLE_SCALARS})
        return FrameTable(**values)
    except (OSError, KeyError, ValueError, TypeError, EOFError):
        return None


def _save_table(key: tuple, table: FrameTable) -> None:
    """Store `table` for `key`; a cache that cannot be written only costs the next process a decode."""
    file = _table_file(key)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f"{file.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **{name: getattr(table, name) for name in _TABLE_ARRAYS + _TABLE_SCALARS})
        os.replace(tmp, file)  # atomic: workers reading it never see half a file
    except OSError:
        pass


def _build_table(path: Path, key: tuple | None = None) -> FrameTable:
    with open_video(path) as (container, stream):
        fps, header_frames, header_duration, time_base = stream_header(container, stream)
        packets = []  # (pts, dts, keyframe, discard) in decode order
        try:
            for packet in container.demux(stream):
                if packet.size:
                    packets.append((packet.pts, packet.dts, packet.is_keyframe, packet.is_discard))
        except av.error.FFmpegError:
            pass  # unreadable from here on (truncated or damaged): the frames so far are the video
        trusted = bool(_TRUSTED_FORMATS & set(container.format.name.split(",")))
        has_b_frames = stream.codec_context.has_b_frames
    if not packets:
        raise VideoError(path, "video stream has no frames (truncated or corrupt)")
    meta = dict(time_base=time_base, fps=fps, header_frames=header_frames, header_duration=header_duration)
    pts = [p[0] for p in packets]
    if None not in pts and len(set(pts)) == len(pts):
        if trusted:
            return _table_from_packets(packets, meta)
        dts = [p[1] for p in packets]
        reordered = any(p != d for p, d in zip(pts, dts)) or any(b <= a for a, b in zip(pts, pts[1:]))
        if not reordered and not has_b_frames:
            return _table_from_packets(packets, meta)  # decode order is display order
    with open_video(path) as (container, stream):
        table = _table_by_decoding(path, container, stream, packets, meta)
    if key is not None:
        _save_table(key, table)
    return table


def _table_from_packets(packets: list[tuple], meta: dict) -> FrameTable:
    pts = np.asarray([p[0] for p in packets], dtype=np.int64)
    keys = np.asarray([p[2] for p in packets], dtype=bool)
    shown = ~np.asarray([p[3] for p in packets], dtype=bool)
    order = np.argsort(pts, kind="stable")
    order = order[shown[order]]  # display order of the frames an edit list does not hide
    if not len(order):
        raise ValueError("every frame is hidden by the edit list")
    frame_pts = pts[order]
    key_pts = np.unique(pts[keys]) if keys.any() else pts[:1]
    seek_first = np.searchsorted(frame_pts, key_pts)  # leading frames of an open GOP come before
    keep = seek_first < len(frame_pts)
    seek_pts, seek_first = key_pts[keep], seek_first[keep]
    seek_first, first_of = np.unique(seek_first, return_index=True)  # several start points: the last
    last_of = np.r_[first_of[1:], len(keep[keep])] - 1
    return FrameTable(pts=frame_pts, times=(frame_pts - frame_pts[0]) * meta["time_base"], decode_pos=order,
                      keyframe=keys[order], seek_pts=seek_pts[last_of], seek_first=seek_first, exact=True,
                      skippable=True, **meta)


def _table_by_decoding(path: Path, container, stream, packets: list[tuple], meta: dict) -> FrameTable:
    """Decode the file once and record what comes out: the only sure order when packets carry no
    presentation times (AVI with B-frames)."""
    position = {p[0]: i for i, p in enumerate(packets) if p[0] is not None}
    frame_pts, frame_dts, keys, errors = [], [], [], [0]
    _set_threads(stream)
    for frame in decode_packets(container, stream, errors):
        frame_pts.append(frame.pts)
        frame_dts.append(frame.dts)
        keys.append(bool(frame.key_frame))
    if not frame_pts:
        raise VideoError(path, "no frame could be decoded (corrupt or truncated)")
    exact = None not in frame_pts and len(set(frame_pts)) == len(frame_pts) and all(p in position for p in frame_pts)
    if not exact:
        _warn_once(path, _NO_TIMESTAMPS)
    n = len(frame_pts)
    pts = np.asarray(frame_pts if exact else range(n), dtype=np.int64)
    decode_pos = np.asarray([position[p] for p in frame_pts] if exact else range(n), dtype=np.int64)
    # A keyframe is a decoded I-frame whose packet the demuxer also marks as one (so a seek can land
    # there); the packets' timestamps in an AVI are its time grid, which is what seeking uses.
    keyframe = np.zeros(n, dtype=bool)
    if exact:
        keyframe = np.asarray(keys, dtype=bool) & np.asarray([packets[i][2] for i in decode_pos], dtype=bool)
    starts = np.flatnonzero(keyframe)
    if not len(starts) or starts[0] != 0:
        starts = np.r_[0, starts]
    seek_pts = np.asarray([packets[decode_pos[i]][1] if i else packets[0][1] for i in starts], dtype=np.int64)
    dts = np.asarray([d if d is not None else i for i, d in enumerate(frame_dts)], dtype=np.float64)
    times = (dts - dts[0]) * meta["time_base"] if np.all(np.diff(dts) > 0) else np.arange(n) / (meta["fps"] or 25.0)
    return FrameTable(pts=pts, times=times, decode_pos=decode_pos, keyframe=keyframe, seek_pts=seek_pts,
                      seek_first=starts.astype(np.int64), exact=exact, damaged=errors[0], **meta)


_THREADED_PIXELS = 352 * 288  # frames larger than CIF decode with FFmpeg's threads outside DataLoader workers


def _set_threads(stream) -> None:
    # In a DataLoader worker the workers are the parallelism: decoder threads there only add
    # overhead. Elsewhere FFmpeg's frame threads use idle cores and cut a large frame's wall
    # time; up to CIF (320x240 XviD, 176x144 H.264) their start-up and hand-over cost more CPU
    # than they save, with no shorter wall time (benchmarks/RESULTS.md).
    data = sys.modules.get("torch.utils.data")
    codec = stream.codec_context
    small = 0 < codec.width * codec.height <= _THREADED_PIXELS
    if small or (data is not None and data.get_worker_info() is not None):
        stream.thread_type = "SLICE"
        stream.thread_count = 1
    else:
        stream.thread_type = "AUTO"


def decode_packets(container, stream, errors: list[int], table: FrameTable | None = None,
                   skip_below: list[int] | None = None) -> Iterator[av.VideoFrame]:
    """Decode `stream` from where the container stands, skipping packets the decoder rejects;
    `errors[0]` counts them (and a demuxer failure, after which the decoder is drained).

    With `table` and `skip_below`, packets of frames numbered below `skip_below[0]` (which the
    caller may raise as it goes) are decoded only if other frames refer to them: B-frames
    nobody wants are dropped unseen, which is exact and saves most of the decoding before a clip."""
    codec = stream.codec_context
    if skip_below is None and codec.skip_frame != "DEFAULT":
        codec.skip_frame = "DEFAULT"
    try:
        for packet in container.demux(stream):
            if skip_below is not None and packet.size:
                index = table.index_of(packet.pts)
                mode = "NONREF" if index is not None and index < skip_below[0] else "DEFAULT"
                if codec.skip_frame != mode:
                    codec.skip_frame = mode
            try:
                frames = codec.decode(packet) if packet.size else codec.decode(None)
            except av.error.EOFError:
                return
            except av.error.FFmpegError:
                errors[0] += 1
                continue
            yield from frames
        return
    except av.error.ExitError:  # FFmpeg gave up a blocking read for a pending Ctrl-C: not the end
        raise KeyboardInterrupt from None
    except av.error.FFmpegError:
        errors[0] += 1
    try:
        yield from codec.decode(None)
    except av.error.FFmpegError:
        pass


class FrameFolder:
    """A folder of extracted frames, read as a video file is: `len`, `times` (as a FrameTable
    has), `read`, `iter` and `probe`. Frame k is the k-th image by the number in its name;
    folders store no rate, so frame k is at k / `fps`."""

    def __init__(self, path: str | os.PathLike, fps: float = 25.0):
        self.path, self.fps = Path(path), fps
        self.files = frame_dir.list_frames(self.path)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self.files)) / self.fps

    def read(self, indices: list[int], size: Size = None, clamp: bool = False) -> Clip:
        """As `read_clip`: images never hold damaged frames, so none is flagged."""
        if clamp and self.files:
            indices = [min(i, len(self.files) - 1) for i in indices]
        wanted = sorted(set(indices))
        _check_range(self.path, wanted, len(self.files))
        if not wanted:
            return Clip(np.zeros((0, 0, 0, 3), dtype=np.uint8), np.zeros(0, dtype=bool))
        first = frame_dir.read_image(self.files[wanted[0]])  # the first image sets the output size for all
        target = output_size(*first.shape[:2], size)
        decoded = {wanted[0]: first if target is None else cv2.resize(first, (target[1], target[0]),
                                                                      interpolation=cv2.INTER_LINEAR)}
        decoded.update({i: frame_dir.read_image(self.files[i], target) for i in wanted[1:]})
        return Clip(np.stack([decoded[i] for i in indices]), np.zeros(len(indices), dtype=bool))

    def iter(self, size: Size = None, step: int = 1, report: DecodeReport | None = None) -> Iterator[Frame]:
        """As `iter_frames`; the first image sets the output size for all."""
        report = report if report is not None else DecodeReport(path=str(self.path))
        report.expected = len(self.files)
        target = None
        if size is not None and self.files:
            first = frame_dir.read_image(self.files[0])
            target = output_size(first.shape[0], first.shape[1], size)
        for index in range(0, len(self.files), step):
            yield Frame(index, index / self.fps, frame_dir.read_image(self.files[index], target))
            report.frames += 1

    def probe(self) -> VideoInfo:
        return frame_dir.probe_dir(self.path, fps=self.fps)


def frame_folder(source: str | int | os.PathLike, fps: float = 25.0) -> FrameFolder | None:
    """`source` as a FrameFolder when it is a folder; None for a video file, URL or webcam index.
    The one place a frame folder is told apart from a video: every reader asks here."""
    if isinstance(source, int) or not Path(str(source)).is_dir():
        return None
    return FrameFolder(source, fps)


def count_frames(path: str | os.PathLike) -> int:
    """Exact number of frames (frames a full decode outputs, in display order); cached per file."""
    folder = frame_folder(path)
    return len(folder if folder is not None else frame_table(path))


def frame_times(path: str | os.PathLike, fps: float = 25.0) -> np.ndarray:
    """(N,) float64 seconds of every frame from frame 0, in display order; cached per file.

    The real timestamps, so variable frame rates are what they are. Frame folders store no
    times: frame k is at k / `fps` there."""
    folder = frame_folder(path, fps)
    return (folder if folder is not None else frame_table(path)).times


def frames_at(times: np.ndarray, t: float | np.ndarray) -> int | np.ndarray:
    """Frame shown at time `t` (seconds, scalar or array): the last frame whose time is <= t
    (frame 0 before the first). `times` is what `frame_times` returns."""
    index = np.searchsorted(times, np.asarray(t, dtype=np.float64) + 1e-9, side="right") - 1
    index = np.clip(index, 0, len(times) - 1)
    return int(index) if np.ndim(index) == 0 else index


class Clip(NamedTuple):
    """Frames read by `read_clip`: uint8 (T, H, W, C), and which of them are damaged (T,) bool:
    hit by corrupt data, either concealed by the decoder (as a player shows them) or not decoded
    at all (then holding the nearest decoded frame of the same read)."""

    frames: np.ndarray
    damaged: np.ndarray


def read_clip(path: str | os.PathLike, indices: Sequence[int], size: Size = None, clamp: bool = False,
              rotate: bool = True) -> Clip:
    """Frames `indices` of a video file or frame folder, in the order asked, and which are damaged.

    Indices may repeat and be unsorted. `size` is a short side (int) or exact (H, W) of the
    upright picture; frames are resized while decoding. `clamp=True` reads indices past the end
    as the last frame. Raises VideoError naming the file for an unreadable file, an index out
    of range, or a read where no wanted frame decodes."""
    path = Path(path)
    indices = [int(i) for i in indices]
    folder = frame_folder(path)
    if folder is not None:
        return folder.read(indices, size, clamp)
    table = frame_table(path)
    if clamp:
        indices = [min(i, len(table) - 1) for i in indices]
    wanted = sorted(set(indices))
    if not wanted:
        return Clip(np.zeros((0, 0, 0, 3), dtype=np.uint8), np.zeros(0, dtype=bool))
    _check_range(path, wanted, len(table))
    decoded = _read_video(path, table, wanted, size, rotate)
    missing = [i for i in wanted if i not in decoded]
    if len(missing) == len(wanted):
        raise VideoError(path, f"frames {wanted[0]}-{wanted[-1]} could not be decoded (corrupt or truncated)")
    if missing:
        have = np.asarray(sorted(decoded))
        for i in missing:  # the nearest decoded frame, earlier first, as a player freezes
            before = have[have < i]
            decoded[i] = decoded[int(before[-1]) if len(before) else int(have[have > i][0])]
    damaged = set(missing) | decoded.corrupt
    return Clip(_stack([decoded[i] for i in indices]), np.asarray([i in damaged for i in indices], dtype=bool))


def _stack(images: list[np.ndarray]) -> np.ndarray:
    """(T, H, W, C); a stream whose size changes midway (damage, or a spliced file) is resized to its first frame."""
    height, width = images[0].shape[:2]
    return np.stack([im if im.shape[:2] == (height, width) else
                     cv2.resize(im, (width, height), interpolation=cv2.INTER_LINEAR) for im in images])


def read_frames(path: str | os.PathLike, indices: Sequence[int], size: Size = None, clamp: bool = False,
                rotate: bool = True) -> np.ndarray:
    """Frames `indices` of a video file or frame folder as uint8 `(T, H, W, C)`, in the order asked.

    As `read_clip`; damaged frames hold the nearest decoded frame and are logged once per file."""
    clip = read_clip(path, indices, size=size, clamp=clamp, rotate=rotate)
    if clip.damaged.any():
        _warn_once(path, "damaged frames (corrupt data): each holds the nearest decoded frame")
    return clip.frames


def _check_range(path: Path, wanted: list[int], num_frames: int) -> None:
    if wanted and (wanted[0] < 0 or wanted[-1] >= num_frames):
        bad = wanted[0] if wanted[0] < 0 else wanted[-1]
        raise VideoError(path, f"frame {bad} is out of range (the video has {num_frames} frames)")


def _read_video(path: Path, table: FrameTable, wanted: list[int], size: Size, rotate: bool) -> _Frames:
    """Decoded frames by number; frames that cannot be decoded are absent."""
    with open_video(path) as (container, stream):
        _set_threads(stream)
        convert = _converter(size, legacy_rotation(stream) if rotate else 0, rotate)
        out = _Frames()
        try:
            if table.exact:
                _read_seeking(container, stream, table, wanted, convert, out)
            missing = [i for i in wanted if i not in out]
            if missing:  # damage, or a seek that missed: decode on through it, keeping what comes out
                errors = _read_forward(container, stream, table, missing, convert, out)
                missing = [i for i in missing if i not in out]
                if missing and not errors and table.exact and table.seek_first[table.seek_point(missing[0])]:
                    _warn_once(path, "a seek did not give the expected frames; reading from the start")
                    _read_forward(container, stream, table, missing, convert, out, from_start=True)
        except av.error.FFmpegError as err:
            raise VideoError(path, f"decoding failed (corrupt or truncated): {err}") from None
        return out


def _converter(size: Size, legacy: int, rotate: bool):
    reformatter = VideoReformatter()
    return lambda frame: frame_to_array(frame, size, frame_rotation(frame, legacy) if rotate else 0, reformatter)


class _Frames(dict):
    """Decoded frames by number, and the numbers of those the decoder flagged corrupt (concealed)."""

    def __init__(self):
        super().__init__()
        self.corrupt: set[int] = set()

    def keep(self, index: int, frame: av.VideoFrame, convert) -> None:
        self[index] = convert(frame)
        if frame.is_corrupt:
            self.corrupt.add(index)


def _read_seeking(container, stream, table: FrameTable, wanted: list[int], convert, out: _Frames) -> None:
    """Seek to the start point before each run of wanted frames and decode forward. A frame is
    kept only when every frame from the start point up to it came out in order, undamaged."""
    wanted_set = set(wanted)
    frames, expected, errors, skip_below = None, -1, [0], [0]  # `expected`: next frame number due
    for target in wanted:
        if target < expected:
            continue  # passed without coming out: left to the tolerant pass
        point = table.seek_point(target)
        if frames is None or expected < 0 or table.seek_first[point] > expected:
            container.seek(int(table.seek_pts[point]), stream=stream, backward=True, any_frame=False)
            errors[0] = 0
            frames = decode_packets(container, stream, errors, table, skip_below if table.skippable else None)
        # Frames before `target` are not wanted: unreferenced ones are skipped, none is checked.
        # Every frame from `target` on must come out, in order, undamaged.
        skip_below[0] = expected = target
        for frame in frames:
            index = table.index_of(frame.pts)
            if index is None or index < expected:
                continue  # skipped or unwanted, a leading frame of an open GOP, or one before the start point
            if index > expected or errors[0] or frame.is_corrupt:
                expected = -1  # something before `index` did not come out: trust nothing more
                break
            expected = index + 1
            if index in wanted_set:
                out.keep(index, frame, convert)
            if index >= target:
                break
        else:
            return  # end of stream


def _read_forward(container, stream, table: FrameTable, wanted: list[int], convert, out: _Frames,
                  from_start: bool = False) -> int:
    """Decode from the start point before the first wanted frame (or the start) to the last one,
    through damage, keeping every wanted frame that comes out; frames are numbered by their
    timestamps, or by output order when they have none. Returns the decode errors met."""
    point = 0 if from_start or not table.exact else table.seek_point(wanted[0])
    container.seek(int(table.seek_pts[point]), stream=stream, backward=True, any_frame=False)
    wanted_set, last, errors = set(wanted), wanted[-1], [0]
    first = int(table.seek_first[point]) if table.exact else 0
    for count, frame in enumerate(decode_packets(container, stream, errors)):
        index = table.index_of(frame.pts) if table.exact else count
        if index is None or index < first:
            continue
        if index in wanted_set and index not in out:
            out.keep(index, frame, convert)
        if index >= last:
            break
    return errors[0]


class Frame(NamedTuple):
    """One frame from `iter_frames`: its number, its time in seconds, uint8 RGB (H, W, 3)."""

    index: int
    time: float
    image: np.ndarray


@dataclass
class DecodeReport:
    """What streaming a whole video found. `iter_frames` fills it in as it goes."""

    path: str = ""
    frames: int = 0  # frames decoded
    expected: int = 0  # frames the container promised (0: unknown, e.g. a live stream)
    damaged: int = 0  # frames hit by corrupt data: lost, or concealed by the decoder
    num_frames: int = 0  # frames the file holds by its FrameTable (0: not known)
    ends_early: bool = False

    def problem(self) -> str | None:
        """One line naming what was wrong, e.g. "decoded 16 of 100 frames", or None."""
        parts = []
        if self.ends_early:
            parts.append(f"decoded {self.frames} of {self.expected} frames (the file ends early: truncated?)")
        if self.damaged:
            total = max(self.num_frames, self.frames, 1)
            parts.append(f"{min(self.damaged, total)} of {total} frames damaged (corrupt data skipped)")
        return "; ".join(parts) or None


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
        table = _cached_table(path)
        if table is None:
            with open_video(path) as (container, stream):
                if _TRUSTED_FORMATS & set(container.format.name.split(",")):
                    table = frame_table(path)  # demuxing only: cheap
        if table is not None and not table.exact:
            table = None  # no timestamps to number frames by: output order is the numbering
    container = open_source(source)
    stream = container.streams.video[0]
    _set_threads(stream)
    fps, header_frames, header_duration, time_base = stream_header(container, stream)
    legacy = legacy_rotation(stream) if rotate else 0
    # Without a table (AVI, live streams) times count from the first frame: by the decoder's
    # timestamps (pts of a stream; the AVI time grid, as `frame_times` does) when they increase.
    use_dts = "://" not in str(source) and not isinstance(source, int)
    first_ts, last_time, errors, corrupt = None, float("nan"), [0], 0
    convert = _converter(size, legacy, rotate)
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
    else:
        report.expected = header_frames or int(round(header_duration * fps))
        step_s = 1.0 / fps if fps else 0.04
        end = (last_time if last_time == last_time else -step_s) + step_s
        report.ends_early = header_duration > 0 and end < header_duration - max(3 * step_s, 0.002 * header_duration)
        report.damaged = errors[0] + corrupt
        report.num_frames = report.frames + errors[0]
