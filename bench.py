"""Speed and memory figures, printed, never asserted: `python bench.py [what ...]`.

This machine is shared and noisy: compare only ratios measured side by side in one run.

    python bench.py                 # all of these but levers, which runs only when named
    python bench.py synthetic       # landscape generation, images/s
    python bench.py ingest          # dataset.py on 500 JPEGs of 2000x1500, with/without draft mode
    python bench.py train           # matmul ceiling; train.py's img/s, GFLOP/s, share of ceiling
    python bench.py levers          # oneDNN, AVX2-only, precision, threads side by side (slow)
    python bench.py colorize        # a 4000x3000 photo (--photo-size) through a fresh seed
                                    # U-Net or --colorize-model runs/model
"""

import argparse
import sys
from pathlib import Path

import cli
import cpu  # TensorFlow's CPU settings (before TensorFlow loads) and what the CPU is
import recipe


SYNTHETIC_SIZE = 128
SYNTHETIC_SINGLE = 200  # images rendered in this process per repeat
SYNTHETIC_POOL = 600  # images through dataset.build_synthetic per repeat


def bench_synthetic(repeats):
    """Images/s of the built-in landscape generator at 128x128: one process, then dataset.py's
    pool on every core (rendering, hashing and writing the dataset folder included)."""
    import os
    import tempfile
    import time

    import dataset
    import mountains

    workers = os.cpu_count() or 1
    mountains.render_landscape(0, SYNTHETIC_SIZE)  # warm-up: imports and first allocations
    for repeat in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        for i in range(SYNTHETIC_SINGLE):
            mountains.render_landscape((repeat, i), SYNTHETIC_SIZE)
        single = SYNTHETIC_SINGLE / (time.perf_counter() - start)
        per_cpu_second = SYNTHETIC_SINGLE / (time.process_time() - start_cpu)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            dataset.build_synthetic(SYNTHETIC_POOL, SYNTHETIC_SIZE, repeat, os.path.join(tmp, "d"),
                                    workers)
            pooled = SYNTHETIC_POOL / (time.perf_counter() - start)
        print(f"synthetic {SYNTHETIC_SIZE}x{SYNTHETIC_SIZE}  repeat {repeat + 1}: "
              f"single process {single:6.1f} images/s ({per_cpu_second:6.1f} per CPU-second)   "
              f"dataset.py pool of {workers} {pooled:6.1f} images/s", flush=True)


INGEST_PHOTOS = 500
INGEST_WIDTH, INGEST_HEIGHT = 2000, 1500


def write_camera_like_jpeg(job):
    """Worker: one colourful 2000x1500 JPEG, smooth gradients and waves plus sensor-like grain,
    so that its file size (about 1 MB) and decode cost are those of a real photo."""
    import numpy as np
    from PIL import Image

    path, seed = job
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:INGEST_HEIGHT, 0:INGEST_WIDTH].astype(np.float32) / INGEST_HEIGHT
    channels = []
    for _ in range(3):
        tilt, phase, frequency = rng.uniform(-1, 1, 2), rng.uniform(0, 6.3), rng.uniform(2, 9)
        wave = np.sin(frequency * (x * tilt[0] + y * tilt[1]) + phase)
        channels.append(rng.uniform(40, 215) + 60 * (x * tilt[0] - y * tilt[1]) + 35 * wave)
    pixels = np.stack(channels, -1) + rng.normal(0, 8, (INGEST_HEIGHT, INGEST_WIDTH, 1))
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)


def bench_ingest(repeats):
    """Images/s of dataset.py --images on 500 JPEGs of 2000x1500 at size 128, with and without
    draft mode, alternating, all cores."""
    import os
    import tempfile
    import time
    from multiprocessing import Pool

    import numpy as np

    import dataset
    import photos

    workers = photos.default_workers()
    with tempfile.TemporaryDirectory() as folder:
        jpegs = Path(folder) / "photos"
        jpegs.mkdir()
        jobs = [(jpegs / f"{i:04d}.jpg", i) for i in range(INGEST_PHOTOS)]
        with Pool(workers) as pool:
            pool.map(write_camera_like_jpeg, jobs, chunksize=8)
        megabytes = sum(os.path.getsize(path) for path, _ in jobs) / len(jobs) / 1e6
        print(f"{INGEST_PHOTOS} JPEGs of {INGEST_WIDTH}x{INGEST_HEIGHT}, {megabytes:.2f} MB each "
              f"on average; size 128, {workers} workers")
        rates = {"draft": [], "full decode": []}
        for _ in range(repeats):
            for name, draft in (("draft", True), ("full decode", False)):
                start = time.perf_counter()
                dataset.build_from_photos(jpegs, Path(folder) / "ds", 128, draft=draft,
                                          workers=workers)
                rates[name].append(INGEST_PHOTOS / (time.perf_counter() - start))
                print(f"  {name:12s} {rates[name][-1]:7.1f} images/s", flush=True)
        medians = {name: float(np.median(values)) for name, values in rates.items()}
        print(f"median over {repeats}: draft {medians['draft']:.1f} images/s, full decode "
              f"{medians['full decode']:.1f} images/s, ratio "
              f"{medians['draft'] / medians['full decode']:.2f}x")


TRAIN_SIZE = 128
TRAIN_STEPS = 16  # steps per timed epoch, batch 32; the first one is not timed
MATMUL_SIDE = 2048


def print_machine():
    import os

    import tensorflow as tf

    name, flags = cpu.description()
    print(f"CPU: {name}, {os.cpu_count()} cores; flags: {' '.join(flags) or 'none of interest'}")
    print(f"TensorFlow {tf.__version__}, TF_ENABLE_ONEDNN_OPTS="
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS')}, ONEDNN_MAX_CPU_ISA="
          f"{os.environ.get('ONEDNN_MAX_CPU_ISA', '(all)')}", flush=True)


def matmul_gflops(dtype, repeats):
    """The best of `repeats` timings of ten 2048x2048 matmuls: the dense ceiling of this CPU."""
    import time

    import tensorflow as tf

    a = tf.cast(tf.random.stateless_normal((MATMUL_SIDE, MATMUL_SIDE), (1, 2)), dtype)
    b = tf.cast(tf.random.stateless_normal((MATMUL_SIDE, MATMUL_SIDE), (3, 4)), dtype)
    product = tf.function(tf.linalg.matmul)
    product(a, b).numpy()
    best = 0.0
    for _ in range(max(repeats, 3)):
        start = time.perf_counter()
        for _ in range(10):
            c = product(a, b)
        c.numpy()
        best = max(best, 10 * 2 * MATMUL_SIDE ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def matmul_ceilings(repeats, policy):
    """{'float32': GFLOP/s} and, when the runs train under the 'mixed_bfloat16' policy, its
    bfloat16 ceiling too: measured only then, as oneDNN held to AVX2 cannot even build a
    bfloat16 matmul."""
    import tensorflow as tf

    ceilings = {"float32": matmul_gflops(tf.float32, repeats)}
    if policy == "mixed_bfloat16":
        ceilings[policy] = matmul_gflops(tf.bfloat16, repeats)
    return ceilings


def random_lab_batch(count, seed=0):
    """L and ab arrays of noise in Lab units: the content does not change the cost of a step."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lightness = rng.uniform(0, 100, (count, TRAIN_SIZE, TRAIN_SIZE, 1)).astype(np.float32)
    ab = rng.uniform(-60, 60, (count, TRAIN_SIZE, TRAIN_SIZE, 2)).astype(np.float32)
    return lightness, ab


def train_py_fit(name, preset, precision="auto", train_args=()):
    """A fit function that trains like train.py: its config defaults, precision policy, compiled
    model and tf.data pipeline, one epoch of TRAIN_STEPS steps per call, returning the images
    trained and the seconds from the end of its first call into TensorFlow to the end of its last
    (a call is --steps-per-execution steps).

    Steady state only: an epoch's start and end (iterator set-up, the end-of-data signal) cost
    a fixed second or so, which a real epoch of 60+ steps spreads thin but which would swamp a
    benchmark epoch of a few steps and round every model to the same figure.
    """
    import time

    import keras

    import train
    import training

    config = train.parse_args(["--model", name, "--preset", preset, "--precision", precision,
                               *train_args])
    policy = training.resolve_precision(config.precision)
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = training.build_compiled_model(config)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    lightness, ab = random_lab_batch(TRAIN_STEPS * config.batch_size)

    step_ends = []
    clock = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: step_ends.append(time.perf_counter()))

    def fit():
        step_ends.clear()
        data = training.make_dataset(lightness, ab, config.batch_size,
                                     **training.augmentation_of(config))
        model.fit(data, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
        steps_per_call = TRAIN_STEPS // len(step_ends)
        images = (len(step_ends) - 1) * steps_per_call * config.batch_size
        return images, step_ends[-1] - step_ends[0]
    return fit, policy


def training_rates(name, preset, repeats, precision="auto", train_args=()):
    """(policy, images/s of each repeat) after one warm-up epoch."""
    fit, policy = train_py_fit(name, preset, precision, train_args)
    fit()
    rates = []
    for _ in range(repeats):
        images, seconds = fit()
        rates.append(images / seconds)
    return policy, rates


def bench_train(repeats, presets, precision="auto", train_args=()):
    """Matmul ceiling, then train.py's training images/s of every model and preset at 128x128,
    batch 32, with GFLOP/s (training counted as 3x the forward FLOPs of models.py) and the share
    of the ceiling in the precision train.py chose. Median and best of the repeats: on a shared
    machine the best says what two free cores do."""
    import statistics

    import models
    import training

    print_machine()
    # the policy train_py_fit gives every run: its ceiling is the one each run is measured on
    ceilings = matmul_ceilings(repeats, training.resolve_precision(precision))
    print("dense matmul ceiling " + ", ".join(f"{policy} {gflops:.0f} GFLOP/s"
                                              for policy, gflops in ceilings.items()))
    print(f"{'model':<12} {'preset':<6} {'policy':<15} {'img/s median':>12} {'best':>6} "
          f"{'GFLOP/s':>8} {'of ceiling':>10}")
    results = []
    for preset in presets:
        for name in models.MODELS:
            policy, rates = training_rates(name, preset, repeats, precision, train_args)
            median, best = statistics.median(rates), max(rates)
            gflops = median * 3 * models.describe(name, preset)["gflop"]
            share = gflops / ceilings[policy]
            results.append({"model": name, "preset": preset, "policy": policy, "median": median,
                            "best": best, "gflops": gflops, "share": share})
            print(f"{name:<12} {preset:<6} {policy:<15} {median:12.1f} {best:6.1f} "
                  f"{gflops:8.0f} {share:10.0%}", flush=True)
    return {"ceilings": ceilings, "training": results}


# Each lever runs in its own process (oneDNN and thread settings are read once, when
# TensorFlow loads), the processes alternating so that a noisy neighbour hits all alike.
LEVERS = {
    "project default": {},
    "8 steps/execution": {"train_args": ["--steps-per-execution", "8"]},
    "float32": {"precision": "float32"},
    # Without oneDNN, bfloat16 convolutions fall back to slow emulation: compare in float32.
    "oneDNN off, float32": {"env": {"TF_ENABLE_ONEDNN_OPTS": "0"}, "precision": "float32"},
    # ONEDNN_MAX_CPU_ISA=AVX2 keeps oneDNN to the instructions of an AVX2-only CPU (Eigen's own
    # kernels keep theirs): an emulation of such a CPU on an AVX-512 one, not a measurement.
    "oneDNN off, AVX2": {"env": {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"},
                         "precision": "float32"},
    "oneDNN on, AVX2": {"env": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"},
                        "precision": "float32"},
    # TensorFlow's two thread pools default to one thread per core each, so on 2 cores two
    # ops may run side by side with 2 threads each: 4 threads on 2 cores.
    "1 inter-op thread": {"env": {"TF_NUM_INTEROP_THREADS": "1"}},
    "AVX2, 1 inter-op thread": {"env": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2",
                                        "TF_NUM_INTEROP_THREADS": "1"}, "precision": "float32"},
    # Smaller batches keep a full-resolution activation (32 x 128 x 128 x 89 floats: 187 MB
    # in the ResNet) closer to the caches; a throughput figure only, the steps differ.
    "AVX2, batch 8": {"env": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"},
                      "precision": "float32", "train_args": ["--batch-size", "8"]},
}


def run_lever(lever, presets, repeats):
    """One lever's training figures, from a child `bench.py train --json` with its settings."""
    import json
    import os
    import subprocess

    settings = LEVERS[lever]
    env = dict(os.environ)
    env.update(settings.get("env", {}))
    command = [sys.executable, __file__, "train", "--json", "--repeats", str(repeats),
               "--precision", settings.get("precision", "auto"), "--presets", *presets,
               *(f"--train-arg={arg}" for arg in settings.get("train_args", []))]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode:
        print(result.stderr, file=sys.stderr)
        raise SystemExit(f"bench.py: lever {lever!r} failed (exit {result.returncode}); "
                         "its error output is above")
    return json.loads(result.stdout.splitlines()[-1])


def bench_levers(levers, presets, repeats, rounds):
    """The levers of LEVERS (all if levers is empty) side by side, alternating over rounds:
    img/s per model."""
    import statistics

    levers = levers or list(LEVERS)
    print_machine()
    rates = {lever: {} for lever in levers}
    shares = {lever: {} for lever in levers}
    ceilings = {lever: [] for lever in levers}
    for round_ in range(rounds):
        for lever in levers if round_ % 2 == 0 else levers[::-1]:
            figures = run_lever(lever, presets, repeats)
            ceilings[lever].append(figures["ceilings"][figures["training"][0]["policy"]])
            for row in figures["training"]:
                key = f"{row['model']}/{row['preset']}"
                rates[lever].setdefault(key, []).append(row["median"])
                shares[lever].setdefault(key, []).append(row["share"])
            print(f"  round {round_ + 1} {lever}: " + ", ".join(
                f"{row['model']}/{row['preset']} {row['median']:.0f}" for row in figures["training"]),
                flush=True)
    keys = list(rates[levers[0]])
    print(f"median img/s over {rounds} rounds (share of the matmul ceiling in its precision)")
    print(f"{'lever':<24}{'ceiling GFLOP/s':>16}" + "".join(f"{key:>22}" for key in keys))
    for lever in levers:
        print(f"{lever:<24}{statistics.median(ceilings[lever]):16.0f}" + "".join(
            f"{statistics.median(rates[lever][k]):14.1f} ({statistics.median(shares[lever][k]):4.0%})"
            for k in keys))


def photo_like_pixels(height, width, seed=0):
    """uint8 (height, width, 3) with smooth colour regions and fine grain, so that JPEG coding
    costs what it costs on a real photo (flat or pure-noise images would flatter or punish it)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC))
    grain = rng.normal(0.0, 8.0, (height, width, 1)).astype(np.float32)
    return np.clip(smooth + grain, 0, 255).astype(np.uint8)


def timed(function, *args):
    import time

    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def cpu_timed(function, *args):
    """(result, wall seconds, CPU seconds of all this process's threads): on a shared machine
    the CPU time says more than the wall time about what 2 free cores would take."""
    import time

    start_cpu = time.process_time()
    result, wall = timed(function, *args)
    return result, wall, time.process_time() - start_cpu


def colorize_phases(network, path, out_path, render_size, stride):
    """Seconds of each phase of colorize.colorize_file, run one after the other as it does."""
    import numpy as np
    from PIL import Image

    import colorize

    seconds = {}
    photo, seconds["decode"] = timed(colorize.read_photo, path)
    (lightness, _), seconds["L"] = timed(colorize.photo_lightness, photo)
    ab, seconds["predict"] = timed(colorize.predict_ab, network, lightness, render_size, stride)
    planes, seconds["upsample"] = timed(colorize.upsample_ab, ab, *lightness.shape)
    rgb, seconds["Lab->RGB"] = timed(colorize.lab_to_rgb_full, lightness, *planes)
    _, seconds["encode"] = timed(colorize.save_atomic, Image.fromarray(rgb), out_path, "JPEG")
    seconds["sum"] = float(np.sum(list(seconds.values())))
    return seconds


def float64_reference(path):
    """The straightforward path, whole image in float64 through lab.py, for comparison."""
    import numpy as np
    from PIL import Image

    import lab

    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    lightness, l_seconds = timed(lab.rgb_to_l, rgb)
    ab = np.zeros((*lightness.shape[:2], 2), np.float32)
    _, rgb_seconds = timed(lambda: lab.lab_to_rgb_uint8(lab.join_lab(lightness, ab)))
    return l_seconds, rgb_seconds


def bench_colorize(repeats, width=4000, height=3000, model_path=None):
    """Seconds for one width x height JPEG at its model's training size, end to end
    (colorize.colorize_file, model loaded once, its working shape traced as colorize.py does
    from a folder's second photo on) and by phase, for a colour and a gray photo; and the
    network's call on that shape eager against traced, side by side. The model: a run folder
    (make model's runs/model, say), else a fresh seed U-Net at 128 px."""
    import json
    import resource
    import tempfile

    import numpy as np
    from PIL import Image

    import colorize
    import lab
    import models
    import photos

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if model_path is None:
            model_path = folder / "model.keras"
            models.build_model("unet", "seed").save(model_path)
            (folder / "config.json").write_text(json.dumps(
                {"image_size": 128, "stride": models.total_stride("unet", "seed"),
                 "status": "finished"}))
        model_path = colorize.resolve_model_path(str(model_path))
        render_size, stride = colorize.read_model_config(model_path)
        model, load_seconds = timed(colorize.load_model, model_path)
        network = colorize.ShapeTracedModel(model)
        print(f"{model_path}: render size {render_size}, stride {stride}; "
              f"workers {colorize.worker_count()}, model load {load_seconds:.2f} s (once per run)")

        pixels = photo_like_pixels(height, width)
        sources = {"rgb": folder / "photo.jpg", "gray": folder / "scan.jpg"}
        Image.fromarray(pixels).save(sources["rgb"], quality=90)
        Image.fromarray(pixels).convert("L").save(sources["gray"], quality=90)
        out = folder / "out.jpg"
        first = [timed(colorize.colorize_file, network, sources["rgb"], out, None, "JPEG",
                       render_size, stride, 1.0)[1] for _ in range(2)]
        print(f"first photo (eager) {first[0]:.2f} s, second (its shape traced) {first[1]:.2f} s")

        for kind, path in sources.items():
            end_to_end, cpu_times, phases = [], [], []
            for _ in range(repeats):
                _, wall, cpu_seconds = cpu_timed(colorize.colorize_file, network, path, out, None,
                                                 "JPEG", render_size, stride, 1.0)
                end_to_end.append(wall)
                cpu_times.append(cpu_seconds)
                phases.append(colorize_phases(network, path, out, render_size, stride))
            print(f"{kind} {width}x{height} JPEG, end to end: median {np.median(end_to_end):.2f} s,"
                  f" min {np.min(end_to_end):.2f} s over {repeats}; "
                  f"CPU time median {np.median(cpu_times):.2f} s")
            print("    phases (median s): " + ", ".join(
                f"{name} {np.median([p[name] for p in phases]):.3f}" for name in phases[0]))

        shape = (1, *(colorize.network_side(side, stride)
                      for side in photos.working_size(height, width, render_size)), 1)
        inputs = lab.encode_l(np.full(shape, 50.0, np.float32))
        calls = {"eager": lambda: model(inputs, training=False), "traced": lambda: network(inputs)}
        seconds = {name: [] for name in calls}
        for _ in range(max(3, repeats)):
            for name, call in calls.items():  # alternated, so that both see the same load
                seconds[name].append(timed(call)[1])
        eager, traced = (float(np.median(seconds[name])) for name in calls)
        print(f"network on its {shape[1]}x{shape[2]} working shape: eager median {eager:.3f} s, "
              f"traced {traced:.3f} s ({eager / traced:.1f}x)")

        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory so far {peak_mb:.0f} MB (TensorFlow included)")
        l_seconds, rgb_seconds = float64_reference(sources["rgb"])
        print(f"reference, whole image in float64 on one core: L {l_seconds:.2f} s, "
              f"Lab->RGB {rgb_seconds:.2f} s")


BENCHMARKS = ("synthetic", "ingest", "train", "levers", "colorize")
PHOTO_SIZE = "4000x3000"


def photo_size(text):
    """WIDTHxHEIGHT -> (width, height), both positive."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. {PHOTO_SIZE}, not {text!r}")
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"both sides must be at least 1, not {text!r}")
    return width, height


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("what", nargs="*", metavar="WHAT",
                        help=f"benchmarks to run, of: {', '.join(BENCHMARKS)} "
                             "(default: all but levers)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats per figure")
    parser.add_argument("--presets", nargs="+", default=list(recipe.PRESETS),
                        choices=recipe.PRESETS, help="model presets for train and levers")
    parser.add_argument("--precision", default="auto", choices=recipe.PRECISIONS,
                        help="train: train.py's --precision")
    parser.add_argument("--levers", nargs="+", choices=list(LEVERS), default=None,
                        metavar="LEVER", help="levers: which settings to compare (quote each), "
                        f"of: {'; '.join(LEVERS)} (default: all)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="levers: alternating rounds, one process per lever and round")
    parser.add_argument("--train-arg", dest="train_args", action="append", default=[],
                        help="train: one more train.py argument (repeatable), e.g. "
                             "--train-arg=--steps-per-execution --train-arg=8")
    parser.add_argument("--photo-size", type=photo_size, default=PHOTO_SIZE, metavar="WxH",
                        help="colorize: the photo's width and height in pixels")
    parser.add_argument("--colorize-model", type=Path, default=None, metavar="RUN",
                        help="colorize: a run folder or model.keras to time, e.g. runs/model "
                             "(default: a fresh seed U-Net at 128 px)")
    parser.add_argument("--json", action="store_true",
                        help="train: print the figures as one JSON line at the end")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.rounds < 1:
        parser.error("--repeats and --rounds must be at least 1")
    unknown = [name for name in args.what if name not in BENCHMARKS]
    if unknown:  # checked here: argparse's choices would list its empty default among them
        parser.error(f"unknown benchmark {unknown[0]!r} (choose from {', '.join(BENCHMARKS)})")
    return args


def main(argv=None):
    args = parse_args(argv)
    train = (args.repeats, args.presets, args.precision, args.train_args)
    if args.json:
        import contextlib
        import io
        import json

        with contextlib.redirect_stdout(io.StringIO()):
            figures = bench_train(*train)
        print(json.dumps(figures))
        return 0
    benchmarks = {
        "synthetic": lambda: bench_synthetic(args.repeats),
        "ingest": lambda: bench_ingest(args.repeats),
        "train": lambda: bench_train(*train),
        "levers": lambda: bench_levers(args.levers, args.presets, args.repeats, args.rounds),
        "colorize": lambda: bench_colorize(args.repeats, *args.photo_size,
                                            args.colorize_model),
    }
    for name in args.what or [name for name in BENCHMARKS if name != "levers"]:
        print(f"== {name}")
        benchmarks[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
