"""The study: every model x preset x seed trained on one dataset, then evaluate.py.

    python study.py                                  # the full study (make reproduce)
    python study.py --epochs 2 --seeds 1             # a quick rehearsal
    python study.py --data data/mountains --no-build # your own dataset (dataset.py --images)

It prints the plan and how long it will take before it starts, runs each training
as its own train.py process (so one run's memory is freed before the next), and
resumes where it stopped: finished runs are skipped, a killed run continues at its
last finished epoch, and runs trained on landscapes that a newer generator draws otherwise are
trained again. At the end evaluate.py scores all runs on the test split (and
on a folder of real photos, when --photos exists) and rewrites the README's results.
"""

import argparse
import dataclasses
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cli
import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)
import dataset
import recipe
import runs
import train

HERE = Path(__file__).resolve().parent
# Epochs per preset, chosen so that the 18 runs of the full study fit in 2 hours on 2 cores
# (measured 2026-11-26: 112 min of training, 2 of evaluation); --epochs overrides both.
DEFAULT_EPOCHS = {"seed": 10, "large": 6}
CALIBRATION_STEPS = 4
# Real epochs are slower than the calibration's bare train_on_batch steps (data pipeline,
# validation, checkpoints): the full study of 2026-11-26 took 112 min against 94 estimated.
EPOCH_OVERHEAD = 1.2
STATUS_NOTES = {"partial": " (resumes)", "stale": " (trained on another dataset: trains again)"}


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """Every option of study.py, by the names of its flags (see parse_args for them)."""

    data: Path
    synthetic: int
    size: int
    no_build: bool
    models: tuple
    presets: tuple
    seeds: int
    loss: str
    epochs: int
    batch_size: int
    runs: Path
    out: Path
    images: Path
    photos: Path
    no_readme: bool
    no_evaluate: bool
    plan_only: bool

    @property
    def seed_list(self):
        return list(range(self.seeds))


def planned_runs(config):
    """Every (model, preset, seed) of the study with its epochs, in the order they will run.

    Seeds are the outer loop, so a study stopped half-way already has one complete
    comparison rather than three seeds of one model.
    """
    plan = []
    for seed in config.seed_list:
        for preset in config.presets:
            for model in config.models:
                epochs = config.epochs or DEFAULT_EPOCHS[preset]
                name = train.parse_args(["--model", model, "--preset", preset, "--loss",
                                         config.loss, "--seed", str(seed)]).run  # train.py names it
                plan.append({"model": model, "preset": preset, "seed": seed,
                             "epochs": epochs, "run": name})
    return plan


def run_status(runs_dir, run, checksum):
    """'finished', 'partial' (resumable), 'new', or 'stale' (trained on another dataset than
    the one whose checksum is given: neither resumable nor comparable with the others), read
    from the run's config.json."""
    folder = Path(runs_dir) / run["run"]
    if not (folder / runs.CONFIG_FILE).is_file():
        return "new"
    try:
        config = runs.read_run(folder)
    except runs.RunError as error:
        raise SystemExit(f"study.py: {error}") from None
    if not runs.trained_on(config, checksum):
        return "stale"  # trained again from the start, so its old --epochs do not matter
    if config.get("epochs") != run["epochs"]:
        raise SystemExit(f"study.py: {folder} was started with {config.get('epochs')}"
                         f" epochs, the plan says {run['epochs']}; pass the same --epochs, "
                         "another --runs folder, or delete that run")
    return "finished" if config.get("status") == "finished" else "partial"


def stale_runs(plan, config, meta):
    """The planned runs trained on other landscapes than --data holds now, to train again.

    A newer generator draws the built-in landscapes differently (build_dataset renders them
    again), and runs trained on the old ones can be neither resumed nor evaluated beside the
    new ones; make model drops its networks in that case too. A dataset of photos that changed
    under its runs is the user's own doing: its runs are refused, not deleted.
    """
    stale = [run for run in plan if run["status"] == "stale"]
    if stale and meta.get("source") != "synthetic":
        names = ", ".join(run["run"] for run in stale)
        raise SystemExit(f"study.py: {names} in {config.runs} were trained on another dataset "
                         f"than {config.data} holds now; delete them or pass another --runs")
    return stale


def remove_stale_runs(stale, config):
    for run in stale:
        print(f"{Path(config.runs) / run['run']}: trained on other landscapes than "
              f"{config.data} holds now; training it again")
        shutil.rmtree(Path(config.runs) / run["run"])
        run["status"] = "new"


def finished_epochs(runs_dir, run):
    if run["status"] == "stale":  # trained again from the start
        return 0
    return len(runs.read_history(Path(runs_dir) / run["run"]))


def calibrate(model, preset, loss, size, batch_size):
    """Training images/s of one model, measured on a few steps of random data.

    Runs in this process with train.py's own model builder, loss, precision policy and
    optimizer, so the estimate reflects what the runs will do on this machine (a
    classification head and its loss cost more than MSE). TensorFlow loads here, not at
    import: --help and usage errors answer at once.
    """
    import keras
    import numpy as np

    import ab_classes
    import training

    config = train.parse_args(["--model", model, "--preset", preset, "--loss", loss,
                               "--batch-size", str(batch_size)])
    classes = None
    if loss == "classification":  # the rebalancing weights' values do not change a step's cost
        bins = ab_classes.quantized_gamut()
        classes = {"bins": bins, "weights": np.ones(len(bins), np.float32)}
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(training.resolve_precision(config.precision))
    try:
        net = training.build_compiled_model(config, classes)
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (batch_size, size, size, 1)).astype(np.float32)
        y = rng.uniform(-0.3, 0.3, (batch_size, size, size, 2)).astype(np.float32)
        net.train_on_batch(x, y)  # trace and warm up
        started = time.perf_counter()
        for _ in range(CALIBRATION_STEPS):
            net.train_on_batch(x, y)
        seconds = time.perf_counter() - started
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return CALIBRATION_STEPS * batch_size / seconds


def estimate_seconds(plan, meta, config):
    """Seconds left for the unfinished runs: training epochs plus validation (about 1/3 cost)."""
    speeds = {}
    for run in plan:
        key = (run["model"], run["preset"])
        if run["status"] != "finished" and key not in speeds:
            speeds[key] = calibrate(*key, config.loss, meta["size"], config.batch_size)
    total = 0.0
    for run in plan:
        if run["status"] == "finished":
            run["estimate"] = 0.0
            continue
        images = meta["counts"]["train"] + meta["counts"]["val"] / 3
        per_epoch = EPOCH_OVERHEAD * images / speeds[(run["model"], run["preset"])]
        run["estimate"] = per_epoch * (run["epochs"] - finished_epochs(config.runs, run))
        total += run["estimate"]
    return total, speeds


def print_plan(plan, speeds, total, meta):
    import models

    print(f"dataset {meta.get('source')} at {meta['size']} px: "
          f"{meta['counts']['train']} train, {meta['counts']['val']} val, "
          f"{meta['counts']['test']} test images")
    for (model, preset), speed in sorted(speeds.items()):
        flops = models.describe(model, preset, meta["size"])["gflop"]
        print(f"  {model:11s} {preset:5s} {flops:5.2f} GFLOP forward, "
              f"measured {speed:6.1f} training images/s")
    for run in plan:
        note = ("done" if run["status"] == "finished"
                else f"~{run['estimate'] / 60:5.1f} min" + STATUS_NOTES.get(run["status"], ""))
        print(f"  {run['run']:28s} {run['epochs']:3d} epochs  {note}")
    print(f"estimated time for the training left: {total / 3600:.1f} h "
          f"({total / 60:.0f} min), plus a few minutes of evaluation")


def train_one(run, config):
    command = [sys.executable, str(HERE / "train.py"), "--model", run["model"],
               "--preset", run["preset"], "--loss", config.loss, "--seed", str(run["seed"]),
               "--epochs", str(run["epochs"]), "--batch-size", str(config.batch_size),
               "--data", str(config.data), "--runs", str(config.runs), "--verbose", "2"]
    result = subprocess.run(command)
    if result.returncode:
        raise SystemExit(f"study.py: {run['run']} failed (exit {result.returncode}); "
                         "rerun the same command to resume it")


def evaluate_all(config):
    """The test split (the README's results block and figures), then the real photos if any."""
    images = ["--images", str(config.images)] if config.images else []
    run_evaluate(config, "--out", str(config.out), *images)
    if config.photos and Path(config.photos).is_dir():
        real = str(Path(config.out) / "real-photos")
        run_evaluate(config, "--photos", str(config.photos), "--out", real)


def run_evaluate(config, *options):
    command = [sys.executable, str(HERE / "evaluate.py"), "--data", str(config.data),
               "--runs", str(config.runs), *options]
    if not config.no_readme:
        command.append("--update-readme")
    result = subprocess.run(command)
    if result.returncode:
        raise SystemExit(f"study.py: evaluate.py failed (exit {result.returncode}; its message "
                         "is above); the trained runs are kept: rerun the same command to "
                         "evaluate them")


def build_dataset(config):
    """Render the landscapes when --data is missing, and again, as they were asked for, when
    another version of the generator drew them. Finished runs stay valid when the landscapes
    come out the same: train.py compares the dataset's checksum, not the generator's."""
    if config.no_build:
        return
    folder = Path(config.data)
    if not (folder / "meta.json").is_file():
        print(f"building {folder}: {config.synthetic} built-in landscapes at {config.size} px")
        arguments = ["--synthetic", str(config.synthetic), "--size", str(config.size),
                     "--seed", "0", "--out", str(folder)]
    else:
        meta = dataset.read_meta(folder)
        if dataset.is_current(meta):
            return
        print(f"rendering {folder} again: another version of the landscape generator drew it")
        arguments = dataset.rebuild_arguments(meta, folder)
    result = subprocess.run([sys.executable, str(HERE / "dataset.py"), *arguments])
    if result.returncode:
        raise SystemExit(f"study.py: dataset.py failed to build {folder} (exit "
                         f"{result.returncode}; its message is above)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/mountains-synth"),
                        help="dataset folder; built from the landscapes if missing, rendered "
                             "again if another version of the generator drew it")
    parser.add_argument("--synthetic", type=int, default=2500,
                        help="landscapes to render when --data is missing (80%% train)")
    parser.add_argument("--size", type=int, default=128, help="image side when rendering")
    parser.add_argument("--no-build", action="store_true",
                        help="never build --data; fail if it is missing or stale")
    parser.add_argument("--models", nargs="+", default=list(recipe.MODELS),
                        choices=recipe.MODELS, help="model families")
    parser.add_argument("--presets", nargs="+", default=list(recipe.PRESETS),
                        choices=recipe.PRESETS, help="presets")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per model")
    parser.add_argument("--loss", default="mse", choices=recipe.LOSSES, help="train.py --loss")
    parser.add_argument("--epochs", type=int, default=0,
                        help=f"epochs of every run (0: per preset, {DEFAULT_EPOCHS})")
    parser.add_argument("--batch-size", type=int, default=32, help="train.py --batch-size")
    parser.add_argument("--runs", type=Path, default=Path("runs/study"),
                        help="folder of the study's run folders")
    parser.add_argument("--out", type=Path, default=Path("results/study"),
                        help="evaluate.py --out")
    parser.add_argument("--images", type=Path, default=None,
                        help="evaluate.py --images (default: the README's images/ when the "
                             "README is updated, else under --out)")
    parser.add_argument("--photos", type=Path, default=HERE / "photos",
                        help="a folder of real photos also scored, if it exists (never trained on)")
    parser.add_argument("--no-readme", action="store_true",
                        help="leave the README's results and real-photo blocks as they are")
    parser.add_argument("--no-evaluate", action="store_true",
                        help="train only; skip evaluate.py")
    parser.add_argument("--plan-only", action="store_true",
                        help="print the plan and the time estimate, then stop")
    args = parser.parse_args(argv)
    if min(args.seeds, args.synthetic, args.size, args.batch_size) < 1 or args.epochs < 0:
        parser.error("--seeds, --synthetic, --size and --batch-size must be at least 1, "
                     "--epochs 0 or more")
    cli.check_output_folders(parser, ("--runs", args.runs, "a folder of run folders"),
                             ("--out", args.out, "a folder for evaluate.py's tables"),
                             ("--images", args.images, "a folder for the figures"))
    return StudyConfig(**{key: tuple(value) if isinstance(value, list) else value
                           for key, value in vars(args).items()})


def main(argv=None):
    config = parse_args(argv)
    try:
        build_dataset(config)
        meta = dataset.read_meta(config.data)
        dataset.check_generator(meta, config.data)
    except dataset.DatasetError as error:
        raise SystemExit(f"study.py: {error}")
    plan = planned_runs(config)
    for run in plan:
        run["status"] = run_status(config.runs, run, meta["checksum"])
    stale = stale_runs(plan, config, meta)
    total, speeds = estimate_seconds(plan, meta, config)
    print_plan(plan, speeds, total, meta)
    if config.plan_only:
        return 0
    remove_stale_runs(stale, config)
    started = time.perf_counter()
    todo = [run for run in plan if run["status"] != "finished"]
    for number, run in enumerate(todo, 1):
        elapsed = time.perf_counter() - started
        left = sum(r["estimate"] for r in todo[number - 1:])
        print(f"\n=== run {number}/{len(todo)}: {run['run']} "
              f"({elapsed / 60:.0f} min elapsed, ~{left / 60:.0f} min left)", flush=True)
        train_one(run, config)
    print(f"\ntraining took {(time.perf_counter() - started) / 60:.1f} min")
    if not config.no_evaluate:
        evaluate_all(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
