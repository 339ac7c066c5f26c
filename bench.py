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


def bench_synthetic(args):
    """Images/s of the built-in landscape generator (owned by the generator work)."""
    raise NotImplementedError


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


def bench_train(args):
    """Training images/s, seed-style vs train.py (owned by the training work)."""
    raise NotImplementedError


def bench_colorize(args):
    """Seconds for one 4000x3000 photo (owned by the colorize work)."""
    raise NotImplementedError


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
