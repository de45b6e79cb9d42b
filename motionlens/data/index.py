"""VideoIndex: the list of (video, label, split) records a dataset is made of.

An index is built from a dataset laid out as it ships (see `layouts.py`). Building counts
each file's frames as the decoders give them (`probe(exact=True)`: most AVIs from their index,
other files by demuxing, a few by decoding), in parallel, caches what it read by path, size and
mtime, and never crashes on a bad file: the file is left out and listed in `failures` with its reason.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..core.atomic import write_text
from ..core.cache import cache_dir as shared_cache_dir
from ..core.errors import MotionlensError, VideoError
from ..video import probe
from .hara_json import parse_hara_json
from .kinetics import is_kinetics_csv
from .layouts import parse_folder, parse_hmdb51, parse_kinetics, parse_list, parse_ucf101
from .records import SPLITS, Entry, Parsed, SplitReport, VideoIndex, VideoRecord, split_from_name  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    return shared_cache_dir("probe")


class ProbeCache:
    """Probe results keyed by absolute path, valid while size and mtime are unchanged.

    One JSON file per dataset root, so a second indexing of the same root is instant and a
    changed file is re-probed."""

    def __init__(self, root: str | os.PathLike, cache_dir: str | os.PathLike | None = None):
        import hashlib

        # "v2": frame counts are exact since v2; older caches hold header counts
        root_key = hashlib.sha1(f"v2:{Path(root).resolve()}".encode()).hexdigest()[:16]
        self.file = Path(cache_dir or default_cache_dir()) / f"{root_key}.json"
        self.entries: dict[str, list] = {}
        self.hits = 0
        if self.file.exists():
            try:
                self.entries = json.loads(self.file.read_text())
            except (json.JSONDecodeError, OSError):
                self.entries = {}  # a damaged cache is rebuilt, never fatal

    @staticmethod
    def stamp(path: str) -> tuple[int, int]:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns

    def get(self, path: str) -> dict | None:
        entry = self.entries.get(path)
        if entry is None:
            return None
        try:
            if tuple(entry[:2]) != self.stamp(path):
                return None
        except OSError:
            return None
        self.hits += 1
        return entry[2]

    def put(self, path: str, result: dict) -> None:
        try:
            self.entries[path] = [*self.stamp(path), result]
        except OSError:
            pass  # the file vanished between probe and stamp: nothing worth caching

    def save(self) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        write_text(self.file, json.dumps(self.entries))


def _probe_one(path: str, frames_fps: float) -> dict:
    try:
        # exact: the frame count the decoders give (a header count may lie: VFR and truncated
        # AVIs, edit lists), so samplers never ask for frames that are not there
        info = probe(path, default_fps=frames_fps, exact=True)
    except VideoError as err:
        return {"error": err.reason}
    except Exception as err:  # an unexpected decoder failure must not stop a 10,000-file index
        return {"error": f"{type(err).__name__}: {err}"}
    return {k: getattr(info, k) for k in ("fps", "num_frames", "duration", "width", "height", "frames_estimated")}


def _probe_batch(paths: list[str], frames_fps: float) -> list[dict]:
    """`_probe_one` over a batch in a worker process (one round trip per batch, not per file),
    with a few threads so that a cold disk has several reads in flight."""
    with ThreadPoolExecutor(max_workers=_THREADS_PER_PROCESS) as pool:
        return list(pool.map(lambda p: _probe_one(p, frames_fps), paths))


# A process pool pays off only with many files. Each process runs a few threads, because most
# probing is waiting on a cold disk (benchmarks/RESULTS.md).
PROCESS_MIN_FILES = 2000
PROCESS_MIN_CORES = 2
_THREADS_PER_PROCESS = 4
_BATCH = 64


def probe_paths(paths: Sequence[str], frames_fps: float = 25.0, workers: int | None = None,
                processes: bool | None = None) -> Iterator[tuple[str, dict]]:
    """Yield (path, `_probe_one` result) for every path, in order.

    Most AVIs and MP4s are read from their index in pure Python (`video.index_counts`), which
    holds the GIL between reads. `processes` (None: with at least `PROCESS_MIN_FILES` files and
    `PROCESS_MIN_CORES` cores) spreads batches of files over `workers` processes (default: one
    per core), each with a few threads; else `workers` threads (default 8) of this process do it all."""
    cores = os.cpu_count() or 1
    if processes is None:
        processes = len(paths) >= PROCESS_MIN_FILES and cores >= PROCESS_MIN_CORES
    if not processes:
        with ThreadPoolExecutor(max_workers=workers or 8) as pool:
            yield from zip(paths, pool.map(lambda p: _probe_one(p, frames_fps), paths))
        return
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    batches = [list(paths[i:i + _BATCH]) for i in range(0, len(paths), _BATCH)]
    # fork, as DataLoader workers start: nothing to import, and no re-run of a calling script
    # that lacks a main guard (spawn and forkserver import it again in every worker)
    context = multiprocessing.get_context("fork")
    done = 0
    try:
        with ProcessPoolExecutor(max_workers=workers or cores, mp_context=context) as pool:
            for batch, results in zip(batches, pool.map(_probe_batch, batches, [frames_fps] * len(batches))):
                yield from zip(batch, results)
                done += len(batch)
    except (BrokenProcessPool, OSError) as err:  # a worker killed (out of memory), no processes allowed
        log.warning("probing in worker processes failed (%s); going on with threads", err)
        yield from probe_paths(paths[done:], frames_fps, workers, processes=False)


def probe_entries(
    entries: Sequence[Entry],
    classes: Sequence[str],
    root: str | os.PathLike,
    cache: bool = True,
    frames_fps: float = 25.0,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    processes: bool | None = None,
) -> tuple[list[VideoRecord], list[tuple[str, str]]]:
    """Probe every entry (exact counts, in parallel, cached) into records; failures are listed,
    not raised. `workers` and `processes` as `probe_paths` takes them."""
    store = ProbeCache(root) if cache else None
    label_of = {name: i for i, name in enumerate(classes)}
    paths = sorted({e.path for e in entries})
    results: dict[str, dict] = {}
    todo = []
    for p in paths:
        hit = store.get(p) if store else None
        if hit is not None:
            results[p] = hit
        else:
            todo.append(p)
    done = len(results)
    if progress:
        progress(done, len(paths))
    if todo:
        for p, result in probe_paths(todo, frames_fps, workers, processes):
            results[p] = result
            if store:
                store.put(p, result)
            done += 1
            if progress:
                progress(done, len(paths))
        if store:
            store.save()
    records, failures = [], []
    for e in entries:
        meta = results[e.path]
        if "error" in meta:
            failures.append((e.path, meta["error"]))
            continue
        records.append(VideoRecord(path=e.path, label=label_of.get(e.class_name, -1), class_name=e.class_name,
                                   split=e.split, start=e.start, end=e.end,
                                   video_id=e.video_id or Path(e.path).stem, **meta))
    failures = sorted(set(failures))
    return records, failures


def build_index(
    data: str | os.PathLike,
    layout: str | None = None,
    split: int = 1,
    annotations: str | os.PathLike | None = None,
    cache: bool = True,
    frames_fps: float = 25.0,
    progress: Callable[[int, int], None] | None = None,
) -> VideoIndex:
    """Index a dataset. `data` is a root folder, or a spec "layout:root" as the CLI's --data takes.

    layout: folder | hmdb51 | ucf101 | kinetics | list | hara | auto (None = from the spec, else auto).
    `split` picks the official split (1-3) where a layout has several. `annotations` points at the
    split/annotation files when they are not where the layout expects them."""
    layout, root = parse_data_spec(data, layout)
    if not root.exists():
        raise MotionlensError(f"data path not found: {root}")
    parsed = parse_layout(layout, root, split=split, annotations=annotations)
    records, failures = probe_entries(parsed.entries, parsed.classes, root, cache=cache,
                                      frames_fps=frames_fps, progress=progress)
    return VideoIndex(records=records, classes=list(parsed.classes), failures=failures,
                      report=parsed.report, root=str(root), layout=parsed.layout)


def parse_data_spec(data: str | os.PathLike, layout: str | None = None) -> tuple[str, Path]:
    """("layout", root) from "layout:root" or a plain path (layout then `layout` or "auto")."""

    text = str(data)
    head, sep, tail = text.partition(":")
    if sep and head in LAYOUTS and not (len(head) == 1 and tail.startswith("\\")):
        if layout and layout != head:
            raise MotionlensError(f"--layout {layout} contradicts the data spec '{text}'")
        return head, Path(tail).expanduser().absolute()
    if sep and len(head) > 1 and head.replace("_", "").isalnum() and not Path(text).expanduser().exists():
        import difflib

        close = difflib.get_close_matches(head, list(LAYOUTS), n=1)
        hint = f"did you mean {close[0]}:{tail}? " if close else ""
        raise MotionlensError(f"unknown layout '{head}' in '{text}': {hint}layouts are {', '.join(LAYOUTS)} "
                              "(LAYOUT:ROOT)")
    layout = layout or "auto"
    if layout not in LAYOUTS:
        raise MotionlensError(f"unknown layout '{layout}'; expected one of {', '.join(LAYOUTS)}")
    return layout, Path(text).expanduser().absolute()


def parse_hara(root: Path, split: int = 1, annotations=None) -> Parsed:
    return parse_hara_json(root, annotations=annotations)


def detect_layout(root: Path) -> str:
    """Guess a layout from the annotation files present."""
    if root.is_file():
        return "hara" if root.suffix == ".json" else "list"
    if any(root.rglob("classInd.txt")):
        return "ucf101"
    if any(root.rglob("*_test_split1.txt")):
        return "hmdb51"
    if any(is_kinetics_csv(p) for p in root.glob("*.csv")):
        return "kinetics"
    if any(split_from_name(p.stem) for p in root.glob("*.txt")):
        return "list"
    return "folder"


LAYOUTS: dict[str, Callable[..., Parsed]] = {
    "folder": parse_folder,
    "frames": parse_folder,  # frame folders in class folders; frame folders work in every layout
    "hmdb51": parse_hmdb51,
    "ucf101": parse_ucf101,
    "kinetics": parse_kinetics,
    "list": parse_list,
    "hara": parse_hara,
    "auto": None,  # resolved by detect_layout
}


def parse_layout(layout: str, root: Path, split: int = 1, annotations=None) -> Parsed:
    if layout == "auto":
        layout = detect_layout(root)
    if split not in (1, 2, 3):
        raise MotionlensError(f"split must be 1, 2 or 3, got {split}")
    return LAYOUTS[layout](root, split=split, annotations=annotations)
