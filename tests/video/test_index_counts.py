"""AVI and MP4 frame counts from the index (`avi_probe`, `mp4_probe`) against the frames FFmpeg decodes.

Files are made by Debian's ffmpeg (libxvid, mpeg4, mjpeg, libx264) at test time, beside the
committed fixtures in tests/assets. Every file either gets the decoded count from its index or falls back
(None); which one is asserted too, so a fast path that silently stops working fails here."""

import shutil
import subprocess
from pathlib import Path

import pytest

from motionlens.video import VideoError, iter_frames, probe
from motionlens.video.index_counts import avi_probe, index_probe, mp4_probe

ASSETS = Path(__file__).parents[1] / "assets"
SRC = "testsrc2=size=96x64:rate=25"
VFR = ("testsrc2=size=96x64:rate=25:duration=1[a];testsrc2=size=96x64:rate=5:duration=1.6,fps=25[b];"
       "[a][b]concat,mpdecimate")
# name -> (ffmpeg arguments after the input, True when the index alone must give the count)
MADE = {
    "mpeg4_p.avi": (["-c:v", "mpeg4"], True),
    "mpeg4_bf2.avi": (["-c:v", "mpeg4", "-bf", "2"], True),  # B-frames, one VOP per chunk
    "mpeg4_bf2_dx50.avi": (["-c:v", "mpeg4", "-bf", "2", "-vtag", "DX50"], True),
    "xvid_p.avi": (["-c:v", "libxvid"], True),
    "xvid_bf1_dx50.avi": (["-c:v", "libxvid", "-bf", "1", "-vtag", "DX50"], True),  # packed bitstream
    "xvid_bf2_xvid.avi": (["-c:v", "libxvid", "-bf", "2", "-vtag", "XVID"], True),  # packed, B-VOPs held in turn
    "xvid_bf3_g12.avi": (["-c:v", "libxvid", "-bf", "3", "-g", "12"], True),
    "mjpeg.avi": (["-c:v", "mjpeg"], True),
    "msmpeg4.avi": (["-c:v", "msmpeg4"], False),  # not a codec the index is trusted for
}
MADE_VFR = {
    "xvid_bf2_vfr.avi": (["-c:v", "libxvid", "-bf", "2"], True),  # packed, with empty drop chunks
    "mpeg4_vfr.avi": (["-c:v", "mpeg4"], False),  # drops: the decoding path's times differ, so it decides
    "mjpeg_vfr.avi": (["-c:v", "mjpeg"], True),
}
FIXTURES = {"xvid_bf.avi": True, "vfr_mpdecimate.avi": False, "cinepak_vfr.avi": True, "truncated.avi": False,
            "h264_bf_editlist.mp4": True, "rotated90.mp4": True, "vfr_mpdecimate.mp4": True}
# MP4s: name -> (ffmpeg arguments after `-i <3 s H.264 with B-frames>`, True when the moov alone must tell)
MADE_MP4 = {
    "copy.mp4": (["-c", "copy"], True),
    "copy.mov": (["-c", "copy"], True),
    "faststart.mp4": (["-c", "copy", "-movflags", "+faststart"], True),
    "edit_start.mp4": (["-c", "copy"], True),  # -ss 1.3 before -i: an edit list hides frames up to the cut
    "edit_both.mp4": (["-c", "copy", "-t", "1"], True),  # -ss 0.5 and -t 1: frames after the edit's end hidden
    "rot270.mp4": (["-c", "copy", "-metadata:s:v:0", "rotate=270"], True),
    "mp4v.mp4": (["-c:v", "mpeg4", "-bf", "2"], True),
    "hevc.mp4": (["-c:v", "libx265", "-tag:v", "hvc1", "-x265-params", "log-level=error"], True),
    "vp9.mp4": (["-c:v", "libvpx-vp9", "-t", "1"], True),
    "fragmented.mp4": (["-c", "copy", "-movflags", "frag_keyframe+empty_moov"], False),
}
SEEK = {"edit_start.mp4": ["-ss", "1.3"], "edit_both.mp4": ["-ss", "0.5"]}


def has_libxvid() -> bool:
    ffmpeg = shutil.which("ffmpeg")
    return bool(ffmpeg) and "libxvid" in subprocess.run([ffmpeg, "-hide_banner", "-encoders"],
                                                        capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, tuple[Path, bool]]:
    if not has_libxvid():
        pytest.skip("needs ffmpeg with libxvid (Debian's /usr/bin/ffmpeg)")
    folder = tmp_path_factory.mktemp("avis")
    out = {}
    for table, source, extra in ((MADE, SRC, ["-t", "2"]), (MADE_VFR, VFR, ["-fps_mode", "vfr"])):
        for name, (args, fast) in table.items():
            path = folder / name
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *extra,
                            *args, str(path)], check=True)
            out[name] = (path, fast)
    data = out["xvid_bf3_g12.avi"][0].read_bytes()
    (folder / "cut.avi").write_bytes(data[: len(data) // 2])  # an interrupted download: no idx1
    out["cut.avi"] = (folder / "cut.avi", False)
    return out


@pytest.fixture(scope="module")
def made_mp4(tmp_path_factory) -> dict[str, tuple[Path, bool]]:
    if not shutil.which("ffmpeg"):
        pytest.skip("needs ffmpeg")
    folder = tmp_path_factory.mktemp("mp4s")
    ff = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    source = folder / "source.mp4"
    subprocess.run([*ff, "-f", "lavfi", "-i", SRC, "-t", "3", "-c:v", "libx264", "-bf", "2", "-g", "25", str(source)],
                   check=True)
    out = {}
    for name, (args, fast) in MADE_MP4.items():
        subprocess.run([*ff, *SEEK.get(name, []), "-i", str(source), *args, str(folder / name)], check=True)
        out[name] = (folder / name, fast)
    data = source.read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 2])  # the moov is at the end: cut off
    out["cut.mp4"] = (folder / "cut.mp4", False)
    return out


def decoded(path: Path) -> int:
    return sum(1 for _ in iter_frames(path, size=16))


def check(path: Path, fast: bool) -> None:
    info = (avi_probe if path.suffix == ".avi" else mp4_probe)(path)
    assert (info is not None) == fast, path.name
    if path.name == "cut.mp4":
        with pytest.raises(VideoError):
            probe(path, exact=True)  # no index, and the file cannot be opened at all
        return
    exact = probe(path, exact=True)
    assert exact.num_frames == decoded(path), path.name
    if info is not None:
        assert info == exact  # probe takes this path: the same record
        assert not info.frames_estimated


@pytest.mark.parametrize("name", sorted(MADE) + sorted(MADE_VFR) + ["cut.avi"])
def test_counts_equal_decoded_frames(made, name):
    check(*made[name])


@pytest.mark.parametrize("name", sorted(MADE_MP4) + ["cut.mp4"])
def test_mp4_counts_equal_decoded_frames(made_mp4, name):
    check(*made_mp4[name])


def test_mp4_fields_match_pyav(made_mp4):
    """Rotation, size, rate and duration as PyAV reads them; hidden frames are not counted."""
    from motionlens.video.container import _count_from_sample_table

    rotated = mp4_probe(made_mp4["rot270.mp4"][0])
    assert rotated.rotation == probe(made_mp4["rot270.mp4"][0]).rotation == 270
    assert index_probe(made_mp4["rot270.mp4"][0], rotate=False).width == 96  # as stored
    for name in ("edit_start.mp4", "edit_both.mp4"):
        path = made_mp4[name][0]
        info, headers = mp4_probe(path), probe(path)
        assert info.num_frames == _count_from_sample_table(path)[0] < headers.num_frames
        assert info.duration == pytest.approx(headers.duration) and info.fps == pytest.approx(headers.fps)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixtures(name):
    check(ASSETS / name, FIXTURES[name])


def test_header_fields_match_pyav(made):
    """fps, size, codec and duration as PyAV's headers give them, on a file the index answers for."""
    path = made["xvid_bf2_xvid.avi"][0]
    fast = avi_probe(path)
    headers = probe(path)  # PyAV, headers only
    assert (fast.width, fast.height, fast.codec) == (headers.width, headers.height, headers.codec) == (96, 64, "mpeg4")
    assert fast.fps == pytest.approx(headers.fps) and fast.duration == pytest.approx(headers.duration)


def test_damaged_index_falls_back(made, tmp_path):
    """An index entry pointing past the end, or a header count the index does not match: None."""
    data = bytearray(made["xvid_p.avi"][0].read_bytes())
    idx1 = data.rfind(b"idx1")
    bad = bytearray(data)
    bad[idx1 + 8 + 16 + 8:idx1 + 8 + 16 + 12] = (len(data) + 100).to_bytes(4, "little")  # 2nd entry's offset
    (tmp_path / "bad_offset.avi").write_bytes(bytes(bad))
    assert avi_probe(tmp_path / "bad_offset.avi") is None
    strh = data.find(b"strh")
    short = bytearray(data)
    short[strh + 8 + 32:strh + 8 + 36] = (10).to_bytes(4, "little")  # dwLength: 10 frames, not 50
    (tmp_path / "short.avi").write_bytes(bytes(short))
    assert avi_probe(tmp_path / "short.avi") is None
    assert avi_probe(tmp_path / "missing.avi") is None
    (tmp_path / "text.avi").write_text("RIFF not really")
    assert avi_probe(tmp_path / "text.avi") is None
