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


def bench_ingest(args):
    """Images/s of dataset.py --images (owned by the dataset work)."""
    raise NotImplementedError


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
