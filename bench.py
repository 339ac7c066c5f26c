"""Speed and memory figures, printed, never asserted: `python bench.py [what ...]`.

This machine is shared and noisy: compare only ratios measured side by side in one run.

    python bench.py                 # everything
    python bench.py synthetic       # landscape generation, images/s
    python bench.py ingest          # dataset.py on 500 JPEGs of 2000x1500, with and without draft mode
    python bench.py train           # seed-style fit vs train.py's pipeline, images/s and GFLOP/s
    python bench.py colorize        # a 4000x3000 photo through the seed U-Net
"""

import argparse
import sys

import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)


SYNTHETIC_SIZE = 128
SYNTHETIC_SINGLE = 200  # images rendered in this process per repeat
SYNTHETIC_POOL = 600  # images through dataset.build_synthetic per repeat


def bench_synthetic(args):
    """Images/s of the built-in landscape generator at 128x128: one process, then dataset.py's
    pool on every core (rendering, hashing and writing the dataset folder included)."""
    import os
    import tempfile
    import time

    import dataset
    import mountains

    workers = os.cpu_count() or 1
    mountains.render_landscape(0, SYNTHETIC_SIZE)  # warm-up: imports and first allocations
    for repeat in range(args.repeats):
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


def bench_ingest(args):
    """Images/s of dataset.py --images on 500 JPEGs of 2000x1500 at size 128, with and without
    draft mode, alternating, all cores."""
    import os
    import tempfile
    import time
    from multiprocessing import Pool
    from pathlib import Path

    import numpy as np

    import dataset

    workers = dataset.default_workers()
    with tempfile.TemporaryDirectory() as folder:
        photos = Path(folder) / "photos"
        photos.mkdir()
        jobs = [(photos / f"{i:04d}.jpg", i) for i in range(INGEST_PHOTOS)]
        with Pool(workers) as pool:
            pool.map(write_camera_like_jpeg, jobs, chunksize=8)
        megabytes = sum(os.path.getsize(path) for path, _ in jobs) / len(jobs) / 1e6
        print(f"{INGEST_PHOTOS} JPEGs of {INGEST_WIDTH}x{INGEST_HEIGHT}, {megabytes:.2f} MB each "
              f"on average; size 128, {workers} workers")
        rates = {"draft": [], "full decode": []}
        for _ in range(args.repeats):
            for name, draft in (("draft", True), ("full decode", False)):
                start = time.perf_counter()
                dataset.build_from_photos(photos, Path(folder) / "ds", 128, draft=draft,
                                          workers=workers)
                rates[name].append(INGEST_PHOTOS / (time.perf_counter() - start))
                print(f"  {name:12s} {rates[name][-1]:7.1f} images/s", flush=True)
        medians = {name: float(np.median(values)) for name, values in rates.items()}
        print(f"median over {args.repeats}: draft {medians['draft']:.1f} images/s, full decode "
              f"{medians['full decode']:.1f} images/s, ratio "
              f"{medians['draft'] / medians['full decode']:.2f}x")


TRAIN_IMAGES = 128  # per timed fit: 4 steps of batch 32 at 128x128
TRAIN_SIZE = 128


def write_train_bench_dataset(folder):
    """A train-only dataset of noise images: the content does not change the cost of a step."""
    import numpy as np

    import dataset

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (TRAIN_SIZE, TRAIN_SIZE, 3), dtype=np.uint8)
              for _ in range(TRAIN_IMAGES)]
    dataset.write_images(folder, images, [f"noise-{i}" for i in range(TRAIN_IMAGES)],
                         "bench noise", (1.0, 0.0, 0.0))
    return dataset.load_split(folder, "train")


def seed_style_fit(name):
    """(a) the seed's setup: float32, whole arrays in memory straight into fit, RMSprop."""
    import keras
    import numpy as np

    import lab
    import models

    keras.mixed_precision.set_global_policy("float32")
    model = models.build_model(name, "seed")
    model.compile(optimizer=keras.optimizers.RMSprop(), loss="mse", jit_compile=False)

    def fit(lightness, ab):
        x, y = np.array(lab.encode_l(lightness)), np.array(lab.encode_ab(ab))
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    return fit


def pipeline_fit(name):
    """(b) train.py: its tf.data pipeline, its model building and default precision/optimizer."""
    import keras

    import train

    args = train.parse_args(["--model", name])
    policy = train.resolve_precision(args.precision)
    keras.mixed_precision.set_global_policy(policy)
    model = train.build_compiled_model(args)
    keras.mixed_precision.set_global_policy("float32")

    def fit(lightness, ab):
        data = train.make_dataset(lightness, ab, args.batch_size, shuffle=True, flip=args.flip)
        model.fit(data, epochs=1, shuffle=False, verbose=0)
    return fit, policy


def bench_train(args):
    """Training images/s of each seed model at 128x128, batch 32: (a) seed-style vs (b) train.py.

    Both run side by side, alternating, after one warm-up fit each; the figure is the median.
    GFLOP/s counts training as 3x the analytic forward FLOPs (models.py).
    """
    import os
    import statistics
    import tempfile

    import models

    with tempfile.TemporaryDirectory() as tmp:
        lightness, ab = write_train_bench_dataset(os.path.join(tmp, "noise"))
        print(f"{TRAIN_IMAGES} images of {TRAIN_SIZE}x{TRAIN_SIZE} per fit, batch 32, "
              f"{args.repeats} alternating repeats, median images/s")
        for name in models.MODELS:
            seed_fit = seed_style_fit(name)
            ours_fit, policy = pipeline_fit(name)
            seed_fit(lightness, ab)
            ours_fit(lightness, ab)
            rates = {"seed": [], "ours": []}
            for _ in range(args.repeats):
                for key, fit in (("seed", seed_fit), ("ours", ours_fit)):
                    _, seconds = timed(fit, lightness, ab)
                    rates[key].append(TRAIN_IMAGES / seconds)
            seed_rate, ours_rate = (statistics.median(rates[k]) for k in ("seed", "ours"))
            gflop = models.describe(name, "seed")["gflop"] * 3
            print(f"{name:<12} (a) seed-style float32 {seed_rate:6.1f} img/s "
                  f"{seed_rate * gflop:6.0f} GFLOP/s | (b) train.py {policy} "
                  f"{ours_rate:6.1f} img/s {ours_rate * gflop:6.0f} GFLOP/s | b/a "
                  f"{ours_rate / seed_rate:.2f}x   (runs: a {', '.join(f'{r:.0f}' for r in rates['seed'])};"
                  f" b {', '.join(f'{r:.0f}' for r in rates['ours'])})")


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


def colorize_phases(model, path, out_path, render_size, stride):
    """Seconds of each phase of colorize.colorize_file, run one after the other as it does."""
    import numpy as np
    from PIL import Image

    import colorize

    seconds = {}
    photo, seconds["decode"] = timed(colorize.read_photo, path)
    (lightness, _), seconds["L"] = timed(colorize.photo_lightness, photo)
    ab, seconds["predict"] = timed(colorize.predict_ab, model, lightness, render_size, stride)
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


def bench_colorize(args):
    """Seconds for one 4000x3000 JPEG through the seed U-Net at render size 128, end to end
    (colorize.colorize_file, model loaded once) and by phase, for a colour and a gray photo."""
    import json
    import os
    import resource
    import tempfile
    from pathlib import Path

    import numpy as np
    from PIL import Image

    import colorize
    import models

    height, width, render_size = 3000, 4000, 128
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        stride = models.total_stride("unet", "seed")
        models.build_model("unet", "seed").save(folder / "model.keras")
        (folder / "config.json").write_text(json.dumps({"image_size": render_size,
                                                        "stride": stride}))
        model, load_seconds = timed(colorize.load_model, folder / "model.keras")
        print(f"workers {colorize.worker_count()}, model load {load_seconds:.2f} s (once per run)")

        pixels = photo_like_pixels(height, width)
        photos = {"rgb": folder / "photo.jpg", "gray": folder / "scan.jpg"}
        Image.fromarray(pixels).save(photos["rgb"], quality=90)
        Image.fromarray(pixels).convert("L").save(photos["gray"], quality=90)
        out = folder / "out.jpg"
        colorize.colorize_file(model, photos["rgb"], out, None, "JPEG", render_size, stride)

        for kind, path in photos.items():
            end_to_end, cpu, phases = [], [], []
            for _ in range(args.repeats):
                _, wall, cpu_seconds = cpu_timed(colorize.colorize_file, model, path, out, None,
                                                 "JPEG", render_size, stride)
                end_to_end.append(wall)
                cpu.append(cpu_seconds)
                phases.append(colorize_phases(model, path, out, render_size, stride))
            print(f"{kind} {width}x{height} JPEG, end to end: median {np.median(end_to_end):.2f} s,"
                  f" min {np.min(end_to_end):.2f} s over {args.repeats}; "
                  f"CPU time median {np.median(cpu):.2f} s")
            print("    phases (median s): " + ", ".join(
                f"{name} {np.median([p[name] for p in phases]):.3f}" for name in phases[0]))

        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory so far {peak_mb:.0f} MB (TensorFlow included)")
        l_seconds, rgb_seconds = float64_reference(photos["rgb"])
        print(f"reference, whole image in float64 on one core: L {l_seconds:.2f} s, "
              f"Lab->RGB {rgb_seconds:.2f} s")


BENCHMARKS = {
    "synthetic": bench_synthetic,
    "ingest": bench_ingest,
    "train": bench_train,
    "colorize": bench_colorize,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("what", nargs="*", choices=[[]] + list(BENCHMARKS),
                        help="benchmarks to run (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats per figure")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for name in args.what or list(BENCHMARKS):
        print(f"== {name}")
        BENCHMARKS[name](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
