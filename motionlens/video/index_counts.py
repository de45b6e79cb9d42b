"""A probe of AVI files from the container's own index: exact frame counts without PyAV.

`probe(exact=True)` needs the number of frames a full decode gives. For an AVI that number can
be read off the `idx1` index (one 16-byte entry per chunk) when every chunk holds one frame:
the decoders skip zero-size chunks (the drops of a VFR encode) and give one frame per other
chunk. Reading the headers and the index is two or three small reads and no PyAV at all, which
is what makes cold indexing of a 10,000-file dataset fast.

Where a chunk may hold other than one frame, `avi_probe` answers None and the caller takes the
exact path (demuxing, or decoding): codecs not listed in `_CODECS`; MPEG-4 chunks small enough to
be not-coded VOPs (FFmpeg outputs no frame for those); DivX/XviD "packed bitstream" (two VOPs in
one chunk, a placeholder in the next) unless every chunk follows the one pattern whose count
is known (see `_packed_frames`); an index that disagrees with the header's frame count or points
past the end of the file (truncation); OpenDML files (several RIFF parts, `indx` indexes).
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

import numpy as np

from .container import VideoInfo, frame_rate_varies

# biCompression (upper case) -> FFmpeg's codec name; only codecs whose decoder gives one frame per chunk
_CODECS = {b"XVID": "mpeg4", b"DIVX": "mpeg4", b"DX50": "mpeg4", b"FMP4": "mpeg4", b"MP4V": "mpeg4",
           b"MJPG": "mjpeg", b"CVID": "cinepak"}
_MAX_NVOP_SIZE = 19  # FFmpeg's bound: an MPEG-4 chunk this small may be a not-coded VOP (no frame out)
_VOP = b"\x00\x00\x01\xb6"
_INDEX = np.dtype([("tag", "S4"), ("flags", "<u4"), ("offset", "<u4"), ("size", "<u4")])
_PACKED = re.compile(rb"DivX\d+(?:Build|b)\d+p")  # user data FFmpeg reads as "packed bitstream"


class _Header:
    """What the hdrl list says about the first video stream."""

    def __init__(self, number: int, strh: bytes, strf: bytes, odml: bool):
        self.number = number  # the stream's number, as in its chunks' tags ("00dc")
        (self.handler, self.scale, self.rate, self.length,
         self.sample_size) = (strh[4:8], *struct.unpack_from("<II", strh, 20), struct.unpack_from("<I", strh, 32)[0],
                              struct.unpack_from("<I", strh, 44)[0])
        self.width, self.height = struct.unpack_from("<ii", strf, 4)
        self.compression = strf[16:20]
        self.extradata = strf[40:]
        self.odml = odml


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
    if offsets.min() < 0 or int((offsets + 8 + sizes).max()) > size or not _chunk_at(f, offsets[-1], mine[-1]):
        return None  # the index points past the end: truncated
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
            if found[0] == "VOS" or len(found) > 1:
                return None
            if found[0] == "P":
                return None  # a P-VOP would be lost
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
