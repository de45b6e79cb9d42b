"""Exact metadata of AVI and MP4/MOV files from the container's own index, without PyAV.

`probe(exact=True)` needs the number of frames a full decode gives. Both containers carry an
index that tells it in most files; reading the headers and the index is a few small reads and
a little numpy, which is what makes cold indexing of a 10,000-file dataset fast. Where the index
cannot tell, the functions here answer None and the caller takes PyAV's exact path (demuxing,
or decoding).

AVI (`avi_probe`): one `idx1` entry per chunk. The decoders skip zero-size chunks (the drops of
a VFR encode) and give one frame per other chunk, except: codecs not in `_CODECS`; MPEG-4 chunks
small enough to be not-coded VOPs (no frame out); DivX/XviD "packed bitstream" (two VOPs in one
chunk, a placeholder in the next) unless its chunks follow the pattern `_packed_frames` counts;
VFR drops in an MPEG-4 stream (the exact path numbers their frames by decoding); an index that
disagrees with the header's frame count or points past the end of the file (truncation);
OpenDML files (several RIFF parts, `indx` indexes). Those: None.

MP4/MOV (`mp4_probe`): the moov box's sample table, edit list and track header give the frames
the edit list does not hide, the rate, size and display rotation, as FFmpeg reads them.
Fragmented files, several edits and samples past the end of the file: None.
"""

from __future__ import annotations

import math
import os
import re
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np

from .container import VideoInfo, frame_rate_varies, sniff_container

# biCompression (upper case) -> FFmpeg's codec name; only codecs whose decoder gives one frame per chunk
_CODECS = {b"XVID": "mpeg4", b"DIVX": "mpeg4", b"DX50": "mpeg4", b"FMP4": "mpeg4", b"MP4V": "mpeg4",
           b"MJPG": "mjpeg", b"CVID": "cinepak"}
_MAX_NVOP_SIZE = 19  # FFmpeg's bound: an MPEG-4 chunk this small may be a not-coded VOP (no frame out)
_INDEX = np.dtype([("tag", "S4"), ("flags", "<u4"), ("offset", "<u4"), ("size", "<u4")])
_PACKED = re.compile(rb"DivX\d+(?:Build|b)\d+p")  # user data FFmpeg reads as "packed bitstream"


class _Header:
    """What the hdrl list says about the first video stream."""

    def __init__(self, number: int, strh: bytes, strf: bytes, odml: bool):
        self.number = number  # the stream's number, as in its chunks' tags ("00dc")
        self.scale, self.rate = struct.unpack_from("<II", strh, 20)  # frames per second = rate / scale
        self.length = struct.unpack_from("<I", strh, 32)[0]  # chunks, empty ones included
        self.sample_size = struct.unpack_from("<I", strh, 44)[0]  # 0: one chunk per frame, as video has
        self.width, self.height = struct.unpack_from("<ii", strf, 4)  # BITMAPINFOHEADER; negative: top-down
        self.compression = strf[16:20]
        self.extradata = strf[40:]
        self.odml = odml


def index_probe(path: str | os.PathLike, rotate: bool = True) -> VideoInfo | None:
    """`probe(path, exact=True, rotate=rotate)` read from an AVI's or MP4/MOV's own index alone,
    or None when the file is neither or its index cannot tell (then PyAV must)."""
    try:
        kind = sniff_container(Path(path))
    except OSError:
        return None
    info = avi_probe(path) if kind == "AVI" else mp4_probe(path) if kind == "MP4/MOV" else None
    if info is not None and not rotate and info.rotation % 180:
        info = replace(info, width=info.height, height=info.width)
    return info


def avi_probe(path: str | os.PathLike) -> VideoInfo | None:
    """Exact metadata of an AVI from its headers and `idx1`, or None when only demuxing or
    decoding can tell (see the module docstring). Never raises for a bad file: None."""
    try:
        with open(path, "rb") as f:
            return _probe_open(f, Path(path))
    except (OSError, struct.error, ValueError, IndexError):
        return None


def _probe_open(f, path: Path) -> VideoInfo | None:
    size = os.fstat(f.fileno()).st_size
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"AVI ":
        return None
    chunks = _top_chunks(f, size)
    if chunks is None or "hdrl" not in chunks or "movi" not in chunks or "idx1" not in chunks:
        return None  # no index: truncated, or written without one
    f.seek(chunks["hdrl"][0])
    header = _video_header(f.read(chunks["hdrl"][1]))
    codec = header and _CODECS.get(header.compression.upper())
    if not codec or header.odml or header.sample_size or header.scale <= 0 or header.rate <= 0:
        return None
    f.seek(chunks["idx1"][0])
    entries = np.frombuffer(f.read(chunks["idx1"][1] // 16 * 16), dtype=_INDEX)
    tags = entries["tag"]
    video = (tags == b"%02ddc" % header.number) | (tags == b"%02ddb" % header.number)
    mine = entries[video]
    others = np.char.startswith(tags, b"%02d" % header.number) & ~video  # palette changes and the like
    if not len(mine) or others.any() or len(mine) != header.length:
        return None  # an index that does not cover the stream as the header counts it
    sizes = mine["size"].astype(np.int64)
    offsets = mine["offset"].astype(np.int64) + _offset_base(f, mine[0], chunks["movi"][0])
    if (offsets.min() < 0 or int((offsets + 8 + sizes).max()) > size or not _chunk_at(f, offsets[0], mine[0])
            or not _chunk_at(f, offsets[-1], mine[-1])):
        return None  # the index points past the end (truncated) or at other chunks
    shown = sizes > 0
    if np.any(np.diff(offsets[shown]) <= 0):
        return None  # chunks out of file order or shared: FFmpeg reads such files differently
    frames, packed = int(shown.sum()), False
    if codec == "mpeg4":
        frames, packed = _mpeg4_frames(f, header, offsets, sizes)
        if frames is None:
            return None
    step = header.scale / header.rate
    # AVI's time grid: one step per chunk, empty ones included. Frames of a packed stream come
    # out of the decoder without usable times, and the decoding path numbers them one step apart.
    times = (np.arange(frames) if packed else np.flatnonzero(shown)) * step
    duration = header.length * step
    return VideoInfo(path=str(path), fps=header.rate / header.scale, num_frames=frames, duration=duration,
                     width=abs(header.width), height=abs(header.height), codec=codec, rotation=0,
                     frames_estimated=False, vfr=frame_rate_varies(times),
                     ends_early=_ends_early(times, header.rate / header.scale, duration))


def _top_chunks(f, size: int) -> dict[str, tuple[int, int]] | None:
    """{"hdrl" | "movi" | "idx1": (data offset, data size)} of the first RIFF part; None for
    OpenDML files with further parts (their frames are indexed elsewhere)."""
    found, pos = {}, 12
    while pos + 8 <= size:
        f.seek(pos)
        head = f.read(12)
        fcc, length = head[:4], struct.unpack_from("<I", head, 4)[0]
        if fcc == b"LIST" and head[8:12] in (b"hdrl", b"movi"):
            found[head[8:12].decode()] = (pos + 12, min(length - 4, size - pos - 12))
        elif fcc == b"idx1":
            found["idx1"] = (pos + 8, min(length, size - pos - 8))
        elif fcc == b"RIFF":
            return None  # an AVIX part follows: OpenDML
        pos += 8 + length + (length & 1)
    return found


def _video_header(hdrl: bytes) -> _Header | None:
    """The first video stream's strh/strf, and whether it carries an OpenDML `indx`."""
    pos, number = 0, 0
    while pos + 8 <= len(hdrl):
        fcc, length = hdrl[pos:pos + 4], struct.unpack_from("<I", hdrl, pos + 4)[0]
        if fcc == b"LIST" and hdrl[pos + 8:pos + 12] == b"strl":
            parts = _chunks(hdrl[pos + 12:pos + 8 + length])
            strh = parts.get(b"strh", b"")
            if strh[:4] == b"vids" and len(strh) >= 48 and len(parts.get(b"strf", b"")) >= 40:
                indx = parts.get(b"indx", b"")
                odml = len(indx) >= 8 and struct.unpack_from("<I", indx, 4)[0] > 0
                return _Header(number, strh, parts[b"strf"], odml)
            number += 1
        pos += 8 + length + (length & 1)
    return None


def _chunks(data: bytes) -> dict[bytes, bytes]:
    out, pos = {}, 0
    while pos + 8 <= len(data):
        fcc, length = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        out.setdefault(fcc, data[pos + 8:pos + 8 + length])
        pos += 8 + length + (length & 1)
    return out


def _offset_base(f, first, movi: int) -> int:
    """What idx1 offsets are relative to: the "movi" tag (usual) or the file's start (some writers)."""
    relative = movi - 4
    return relative if _chunk_at(f, int(first["offset"]) + relative, first) else 0


def _chunk_at(f, offset: int, entry) -> bool:
    """True when the chunk header at `offset` is the one the index entry names."""
    f.seek(int(offset))
    head = f.read(8)
    return len(head) == 8 and head[:4] == entry["tag"] and struct.unpack_from("<I", head, 4)[0] == entry["size"]


def _mpeg4_frames(f, header: _Header, offsets: np.ndarray, sizes: np.ndarray) -> tuple[int | None, bool]:
    """(frames FFmpeg's MPEG-4 decoder gives, packed): one per non-empty chunk, unless a chunk may
    be a not-coded VOP (None) or the stream is packed (then `_packed_frames`)."""
    nonempty = sizes > 0
    first = int(np.argmax(nonempty))
    f.seek(int(offsets[first]) + 8)
    start = f.read(min(int(sizes[first]), 4096))
    if not _PACKED.search(header.extradata + start):
        if not nonempty.all():  # drops (VFR) with B-frames: the decoding path numbers frames otherwise
            return None, False
        return (None if np.any(sizes <= _MAX_NVOP_SIZE) else int(nonempty.sum())), False
    return _packed_frames(f, offsets[nonempty], sizes[nonempty]), True


def _packed_frames(f, offsets: np.ndarray, sizes: np.ndarray) -> int | None:
    """Frames FFmpeg's decoder gives for a DivX/XviD packed-bitstream stream, from its chunks' VOP
    start codes (empty chunks never reach the decoder and are left out by the caller).

    Packing puts a B-VOP behind the VOP of a chunk; FFmpeg holds it back and decodes it in place
    of the next chunk, whose own VOP it then holds back in turn if that is an I- or B-VOP (a
    few-byte placeholder is dropped). So each chunk gives one frame, and a VOP still held at the
    end none. Cases outside that pattern: a P-VOP that would have to be held (lost), a not-coded
    VOP to decode, more than two VOPs in a chunk, a new VOL while one is held. Any of those: None."""
    base = int(offsets[0])
    f.seek(base)
    data = f.read(int(offsets[-1] + 8 + sizes[-1]) - base)  # the whole movi list: one read
    starts = (offsets - base + 8).tolist()
    vops = _vops_by_chunk(data, starts, sizes.tolist())
    held, frames = False, 0
    for size, found in zip(sizes.tolist(), vops):
        if held:  # the held VOP is decoded; this chunk's VOP is held from its start, or dropped
            frames += 1
            if size <= 7 or not found:
                held = False
                continue
            if found[0] in ("VOS", "P") or len(found) > 1:
                return None  # a new sequence drops what is held; a P-VOP would be lost
            continue  # an I- or B-VOP: held in turn
        types = found[1:] if found and found[0] == "VOS" else found  # a keyframe may start a new sequence
        if size <= _MAX_NVOP_SIZE or len(types) not in (1, 2):
            return None
        frames += 1
        if len(types) == 2:
            if types[1] == "P":
                return None
            held = True
    return frames  # a VOP still held at the end is never decoded (FFmpeg drains only its delay)


_START = re.compile(rb"\x00\x00\x01([\xb0\xb6])(.)", re.S)


def _vops_by_chunk(data: bytes, starts: list[int], sizes: list[int]) -> list[list[str]]:
    """Per chunk, the types ("I", "P", "B", "S") of its VOPs in order, and "VOS" for a visual
    object sequence start code at its very start (FFmpeg drops a held VOP there)."""
    out: list[list[str]] = [[] for _ in starts]
    chunk, ends = 0, [s + n for s, n in zip(starts, sizes)]
    for match in _START.finditer(data):
        pos = match.start()
        while chunk < len(starts) and pos >= ends[chunk]:
            chunk += 1
        if chunk == len(starts):
            break
        if pos < starts[chunk] or pos + 5 > ends[chunk]:
            continue  # in a chunk header, padding, or cut off at the chunk's end
        if match.group(1) == b"\xb6":
            out[chunk].append("IPBS"[match.group(2)[0] >> 6])
        elif pos == starts[chunk]:
            out[chunk].append("VOS")
    return out


def _ends_early(times: np.ndarray, fps: float, duration: float) -> bool:
    """As `FrameTable.ends_early`: the frames stop well before the duration the header claims."""
    if not len(times) or duration <= 0:
        return False
    step = 1.0 / fps
    return float(times[-1]) + step < duration - max(3 * step, 0.002 * duration)


# MP4/MOV: the sample table says everything the exact path needs, read here without PyAV (which
# also decodes a frame for the display matrix): one read of the moov box.
_MP4_CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc", b"mp4v": "mpeg4",
               b"av01": "av1", b"vp09": "vp9"}


def mp4_probe(path: str | os.PathLike) -> VideoInfo | None:
    """Exact metadata of an MP4/MOV from its moov box alone, or None when PyAV must tell
    (fragmented files, several edits, samples past the end of the file, other codecs)."""
    try:
        with open(path, "rb") as f:
            moov = _read_moov(f, os.fstat(f.fileno()).st_size)
            return None if moov is None else _mp4_info(moov, Path(path), os.fstat(f.fileno()).st_size)
    except (OSError, struct.error, ValueError, IndexError, KeyError, ZeroDivisionError):
        return None


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, tuple[int, int]]:
    """{type: (payload start, end)} of the boxes in data[start:end]; the first of each type, and
    "trak" as a list of all. Raises ValueError for a box that runs past its parent."""
    end, pos, out = len(data) if end is None else end, start, {}
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if size == 1:
            size, head = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise ValueError("box past its parent")
        if kind == b"trak":
            out.setdefault(b"trak", []).append((pos + head, pos + size))
        else:
            out.setdefault(kind, (pos + head, pos + size))
        pos += size
    return out


def _read_moov(f, size: int) -> bytes | None:
    """The moov box of an unfragmented file, or None."""
    pos, moov = 0, None
    while pos + 8 <= size:
        f.seek(pos)
        head = f.read(16)
        box, kind = struct.unpack_from(">I4s", head)
        if box == 1:
            box = struct.unpack_from(">Q", head, 8)[0]
        elif box == 0:
            box = size - pos
        if box < 8 or pos + box > size:
            return None  # cut off: truncated
        if kind == b"moof":
            return None  # fragmented: samples live outside the moov
        if kind == b"moov":
            f.seek(pos)
            moov = f.read(box)
        pos += box
    return moov


def _full(data: bytes, box: tuple[int, int]) -> tuple[int, int]:
    """(version, payload start after version and flags) of a full box."""
    return data[box[0]], box[0] + 4


def _table(data: bytes, box: tuple[int, int], fields: str) -> np.ndarray:
    """The entries of a stts/ctts/stsc/stco/co64-style table: big-endian `fields` per entry."""
    _, pos = _full(data, box)
    count = struct.unpack_from(">I", data, pos)[0]
    dtype = np.dtype([(f"f{i}", ">" + c) for i, c in enumerate(fields)])
    return np.frombuffer(data, dtype=dtype, count=count, offset=pos + 4)


def _mp4_info(moov: bytes, path: Path, file_size: int) -> VideoInfo | None:
    top = _boxes(moov, 8 if struct.unpack_from(">I", moov)[0] != 1 else 16)
    version, pos = _full(moov, top[b"mvhd"])
    movie_scale = struct.unpack_from(">I", moov, pos + (16 if version else 8))[0]
    for trak in top.get(b"trak", []):
        boxes = _boxes(moov, *trak)
        mdia = _boxes(moov, *boxes[b"mdia"])
        if moov[mdia[b"hdlr"][0] + 8:mdia[b"hdlr"][0] + 12] == b"vide":
            return _track_info(moov, boxes, mdia, movie_scale, path, file_size)
    return None


def _track_info(moov: bytes, boxes: dict, mdia: dict, movie_scale: int, path: Path, file_size: int) -> VideoInfo | None:
    version, pos = _full(moov, mdia[b"mdhd"])
    scale = struct.unpack_from(">I", moov, pos + (16 if version else 8))[0]
    stbl = _boxes(moov, *_boxes(moov, *mdia[b"minf"])[b"stbl"])
    entry = _full(moov, stbl[b"stsd"])[1] + 4
    codec = _MP4_CODECS.get(moov[entry + 4:entry + 8])
    if codec is None or b"stsz" not in stbl or scale <= 0:
        return None
    width, height = struct.unpack_from(">HH", moov, entry + 32)
    _, pos = _full(moov, stbl[b"stsz"])
    uniform, count = struct.unpack_from(">II", moov, pos)
    sizes = (np.full(count, uniform, dtype=np.int64) if uniform else
             np.frombuffer(moov, dtype=">u4", count=count, offset=pos + 8).astype(np.int64))
    stts = _table(moov, stbl[b"stts"], "II")
    if not count or int(stts["f0"].sum()) != count or _sample_end(moov, stbl, sizes) > file_size:
        return None  # no frames, or samples past the end of the file
    dts = np.r_[0, np.cumsum(np.repeat(stts["f1"].astype(np.int64), stts["f0"]))][:count]
    pts = dts.copy()
    if b"ctts" in stbl:
        ctts = _table(moov, stbl[b"ctts"], "Ii")  # signed, as FFmpeg reads version 0 too
        pts += np.repeat(ctts["f1"].astype(np.int64), ctts["f0"])[:count]
    shown = _shown(moov, boxes, pts, scale, movie_scale)
    if shown is None or not shown.any():
        return None
    total = int(stts["f1"].astype(np.int64) @ stts["f0"].astype(np.int64))
    rotation = _matrix_rotation(moov, boxes[b"tkhd"])
    if rotation % 180:
        width, height = height, width
    return VideoInfo(path=str(path), fps=count * scale / total, num_frames=int(shown.sum()),
                     duration=_shown_duration(moov, boxes, total, scale, movie_scale), width=width, height=height,
                     codec=codec, rotation=rotation, frames_estimated=False, vfr=frame_rate_varies(dts / scale))


def _sample_end(moov: bytes, stbl: dict, sizes: np.ndarray) -> int:
    """The byte after the last sample of the track (from stsc, stco/co64 and the sizes)."""
    offsets = _table(moov, stbl[b"stco"], "I")["f0"] if b"stco" in stbl else _table(moov, stbl[b"co64"], "Q")["f0"]
    stsc = _table(moov, stbl[b"stsc"], "III")
    firsts = stsc["f0"].astype(np.int64) - 1
    per_chunk = np.repeat(stsc["f1"].astype(np.int64), np.diff(np.r_[firsts, len(offsets)]))
    starts = np.minimum(np.r_[0, np.cumsum(per_chunk)], len(sizes))
    before = np.r_[0, np.cumsum(sizes)]  # bytes of the samples before sample i
    ends = offsets.astype(np.int64)[:len(per_chunk)] + before[starts[1:]] - before[starts[:-1]]
    return int(ends.max()) if len(ends) else 0


def _edit(moov: bytes, boxes: dict, scale: int, movie_scale: int) -> tuple[int, int] | None | bool:
    """(media start, media length or 0 for "to the end") of the track's one edit; True without an
    edit list; None for what is left to FFmpeg (several edits, a rate other than 1)."""
    if b"edts" not in boxes:
        return True
    edts = _boxes(moov, *boxes[b"edts"])
    if b"elst" not in edts:
        return True
    version, pos = _full(moov, edts[b"elst"])
    count = struct.unpack_from(">I", moov, pos)[0]
    entry = ">QqHH" if version else ">IiHH"
    edits = [struct.unpack_from(entry, moov, pos + 4 + i * struct.calcsize(entry)) for i in range(count)]
    edits = [e for e in edits if e[1] != -1]  # empty edits only delay the start
    if len(edits) != 1 or edits[0][2:] != (1, 0) or edits[0][1] < 0:
        return None
    return edits[0][1], edits[0][0] * scale // movie_scale


def _shown(moov: bytes, boxes: dict, pts: np.ndarray, scale: int, movie_scale: int) -> np.ndarray | None:
    """(N,) bool: the samples the edit list shows (FFmpeg marks the others discarded), or None."""
    edit = _edit(moov, boxes, scale, movie_scale)
    if edit is None:
        return None
    if edit is True:
        return np.ones(len(pts), dtype=bool)
    start, length = edit
    return (pts >= start) & ((pts < start + length) if length else True)


def _shown_duration(moov: bytes, boxes: dict, total: int, scale: int, movie_scale: int) -> float:
    """Seconds the track lasts as FFmpeg reports it: its samples' durations, cut to its edit's length."""
    edit = _edit(moov, boxes, scale, movie_scale)
    return min(edit[1] if isinstance(edit, tuple) and edit[1] else total, total) / scale


def _matrix_rotation(moov: bytes, tkhd: tuple[int, int]) -> int:
    """Counter-clockwise degrees (0, 90, 180, 270) that make the picture upright, from the track
    header's display matrix (as FFmpeg's av_display_rotation_get reads it)."""
    version, pos = _full(moov, tkhd)
    a, b, _, c, d = struct.unpack_from(">iiiii", moov, pos + (48 if version else 36))
    degrees = -math.degrees(math.atan2(b / (math.hypot(b, d) or 1), a / (math.hypot(a, c) or 1)))
    return int(round(degrees / 90.0)) % 4 * 90
