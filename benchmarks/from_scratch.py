"""From-scratch recipe on synthetic motion sets: test video top-1 and wall time per set and seed.

Each run is `motionlens train` with the default recipe (config.RECIPES["scratch"]) and only
--data, --model cnn3d_small and --seed, then `motionlens eval` on the test split; it prints one
line per run with chance in the same line, e.g.

    motion6 seed 0 | test video top-1 0.792 (chance 0.167) | checkpoint best.pt epoch 28 | 14.1 min

With --reference, each set and seed is also learned by benchmarks/reference_learner.py (a plain
in-memory loop, the yardstick of issue 12) in the same run, and its line follows.

Usage: python benchmarks/from_scratch.py OUT [--sets motion6,order8] [--seeds 0,1] [--epochs N]
       [--set KEY=VALUE ...] [--tag NAME] [--reference]
       (to compare a recipe change, e.g. --set data.resize=[56,56])
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import reference_learner

from motionlens.config import TrainConfig, parse_override, resolve
from motionlens.dataprep.synth import synthesize
from motionlens.training.evaluate import evaluate_checkpoint
from motionlens.training.train import fit

# The hard kinds: temporal-order pairs (each class of a pair is the other played backwards),
# mixed frame rates and sizes, MPEG-4 AVI, and the synthesiser's drifting textured background,
# sensor noise, camera shake and a distracting second object in every set.
SETS = {
    # Six classes in HMDB51's layout, as in issue 12: direction, change of size, turning.
    "motion6": dict(layout="hmdb51", classes=["move_left", "move_right", "approach", "recede", "rotate_cw",
                                              "rotate_ccw"], videos_per_class=28,
                    size=[(96, 128), (120, 160), (144, 192)], fps=(15.0, 25.0, 30.0), duration=(1.5, 4.0),
                    codec="xvid"),
    # Eight classes: adds a back-and-forth swing and a single slide that starts and stops.
    "order8": dict(layout="ucf101", num_classes=8, videos_per_class=24, size=[(96, 128), (120, 160)],
                   fps=(12.0, 25.0), duration=(2.0, 4.0)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--sets", default="motion6,order8")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a config change on top of the defaults (repeatable)")
    parser.add_argument("--tag", default="", help="appended to run names, to keep variants apart")
    parser.add_argument("--reference", action="store_true", help="also run the reference learner on each set and seed")
    args = parser.parse_args()
    for name in args.sets.split(","):
        spec = dict(SETS[name])
        root = args.out / "data" / name
        if not (root / ".done").exists():
            data = synthesize(root, seed=1, overwrite=True, **spec)
            (root / ".done").write_text(data.spec)
        data_spec = (root / ".done").read_text()
        num_classes = len(spec.get("classes") or range(spec.get("num_classes", 4)))
        for seed in map(int, args.seeds.split(",")):
            updates = [f"data.dataset={data_spec}", "model.name=cnn3d_small", f"seed={seed}",
                       f"out={args.out / 'runs'}", f"name={name}-seed{seed}{args.tag}", *args.overrides]
            if args.epochs:
                updates.append(f"epochs={args.epochs}")
            start = time.perf_counter()
            run = fit(resolve(TrainConfig, None, *map(parse_override, updates)), show_progress=False)
            result = evaluate_checkpoint(run, None, run / "eval-test", split="test", show_progress=False)
            minutes = (time.perf_counter() - start) / 60
            line = (f"{name}{args.tag} seed {seed} | test video top-1 {result['video_top1']:.3f} (chance {1 / num_classes:.3f}) "
                    f"on {result['num_videos']} videos [{result['protocol']}] | checkpoint "
                    f"{result['checkpoint_note'].split(',')[0]} | {minutes:.1f} min")
            print(line, flush=True)
            if args.reference:
                ref = reference_learner.run(data_spec, seed=seed)
                print(f"{name} seed {seed} | reference learner: test video top-1 {ref['video_top1']:.3f} "
                      f"(chance {ref['chance']:.3f}) | 40 epochs | {ref['minutes']:.1f} min", flush=True)
            with open(args.out / "results.jsonl", "a") as f:
                f.write(json.dumps({"set": name, "seed": seed, "tag": args.tag, "overrides": args.overrides,
                                    "epochs": args.epochs, "minutes": minutes, **{
                    k: result[k] for k in ("video_top1", "mean_class_accuracy", "num_videos", "protocol",
                                           "checkpoint_note")}}) + "\n")


if __name__ == "__main__":
    main()
