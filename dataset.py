"""Turn photos (or the built-in landscapes) into Lab arrays with a fixed split.

    python dataset.py --synthetic 2500 --size 128 --out data/mountains-synth
    python dataset.py --images data/raw --size 128 --out data/mountains

A dataset folder holds, per split (train / val / test), two memory-mappable
arrays in Lab units (see lab.py):

    <split>_L.npy    float32 (N, H, W, 1)   L* in 0..100
    <split>_ab.npy   float32 (N, H, W, 2)   a*, b*

and meta.json: image size, source, counts, every skipped input with its
reason, the split rule and checksums. The folder is written next to its final
place and renamed into it, so a killed run leaves the previous dataset or
none, never half of one.

The split of an image depends only on the sha256 of its content, so adding
photos never moves an existing one to another split.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm import tqdm

import lab
import mountains

SPLITS = ("train", "val", "test")
FORMAT_VERSION = 1
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


class DatasetError(Exception):
    """A dataset folder that is missing, incomplete or not what the caller expects."""


# --------------------------------------------------------------------------- split


def split_of(digest, fractions=DEFAULT_FRACTIONS):
    """Map a hex sha256 to a split, stably: the first 8 bytes give a uniform number in [0, 1)."""
    u = int(digest[:16], 16) / 2**64
    edges = np.cumsum(fractions)
    for name, edge in zip(SPLITS, edges):
        if u < edge:
            return name
    return SPLITS[-1]


# --------------------------------------------------------------------------- writing


def file_sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def write_dataset(out, items, meta):
    """Write `items` (dicts with digest, id, rgb) atomically as a dataset folder at `out`.

    Items are ordered by digest inside each split, so the same inputs give
    byte-identical arrays whatever order they were found in.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    fractions = tuple(meta["split"]["fractions"])
    by_split = {name: [] for name in SPLITS}
    for item in sorted(items, key=lambda it: it["digest"]):
        by_split[split_of(item["digest"], fractions)].append(item)

    size = meta["size"]
    checksums, members = {}, {}
    for name in SPLITS:
        group = by_split[name]
        lightness = np.lib.format.open_memmap(
            tmp / f"{name}_L.npy", mode="w+", dtype=np.float32, shape=(len(group), size, size, 1))
        ab = np.lib.format.open_memmap(
            tmp / f"{name}_ab.npy", mode="w+", dtype=np.float32, shape=(len(group), size, size, 2))
        for i, item in enumerate(group):
            lightness[i], ab[i] = lab.split_lab(lab.rgb_to_lab(item["rgb"]))
        lightness.flush()
        ab.flush()
        del lightness, ab
        members[name] = [{"id": it["id"], "sha256": it["digest"]} for it in group]
        for suffix in ("L", "ab"):
            fname = f"{name}_{suffix}.npy"
            checksums[fname] = file_sha256(tmp / fname)

    meta = dict(meta)
    meta["format_version"] = FORMAT_VERSION
    meta["counts"] = {name: len(by_split[name]) for name in SPLITS}
    meta["checksums"] = checksums
    meta["checksum"] = hashlib.sha256(
        json.dumps(checksums, sort_keys=True).encode()).hexdigest()
    meta["members"] = members
    with open(tmp / "meta.json", "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    replace_dir(tmp, out)
    return meta


def replace_dir(new, dest):
    """Move a finished folder into place; the old one is removed only after the new one is there."""
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    if dest.exists():
        os.rename(dest, old)
    os.rename(new, dest)
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- synthetic


def render_item(job):
    seed, index, size = job
    rgb = mountains.render_landscape((seed, index), size)
    return {"digest": hashlib.sha256(rgb.tobytes()).hexdigest(), "id": f"synthetic-{index:06d}",
            "rgb": rgb}


def build_synthetic(count, size, seed, out, workers, fractions=DEFAULT_FRACTIONS):
    jobs = [(seed, i, size) for i in range(count)]
    with Pool(workers) as pool:
        items = list(tqdm(pool.imap(render_item, jobs, chunksize=16), total=count,
                          desc="rendering landscapes", unit="img"))
    meta = {"source": "synthetic", "generator": "mountains.render_landscape", "seed": seed,
            "size": size, "skipped": [],
            "split": {"rule": "sha256 of the content, first 8 bytes as a fraction",
                      "fractions": list(fractions)}}
    return write_dataset(out, items, meta)


# --------------------------------------------------------------------------- loading


def read_meta(folder):
    """meta.json of a dataset folder, or a DatasetError that says how to make one."""
    path = Path(folder) / "meta.json"
    if not path.is_file():
        raise DatasetError(
            f"no dataset at {folder} (missing meta.json); create one with "
            f"'python dataset.py --synthetic 2500 --out {folder}' or '--images DIR'")
    with open(path) as f:
        meta = json.load(f)
    if meta.get("format_version") != FORMAT_VERSION:
        raise DatasetError(f"{folder}: dataset format {meta.get('format_version')} is not "
                           f"{FORMAT_VERSION}; rebuild it with dataset.py")
    return meta


def load_split(folder, split):
    """(L, ab) of one split as read-only memory maps, in Lab units; checked against meta.json."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    meta = read_meta(folder)
    arrays = []
    for suffix, channels in (("L", 1), ("ab", 2)):
        path = Path(folder) / f"{split}_{suffix}.npy"
        if not path.is_file():
            raise DatasetError(f"{folder}: {path.name} is missing; rebuild the dataset")
        array = np.load(path, mmap_mode="r")
        expected = (meta["counts"][split], meta["size"], meta["size"], channels)
        if array.shape != expected:
            raise DatasetError(f"{path}: shape {array.shape}, meta.json says {expected}")
        arrays.append(array)
    return tuple(arrays)


# --------------------------------------------------------------------------- command line


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", type=int, metavar="N",
                        help="render N built-in mountain landscapes")
    source.add_argument("--images", type=Path, metavar="DIR",
                        help="a folder of photos, searched recursively")
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic landscapes")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="processes used for decoding or rendering")
    args = parser.parse_args(argv)
    if args.size < 8:
        parser.error("--size must be at least 8")
    if args.synthetic is not None and args.synthetic < 1:
        parser.error("--synthetic must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.synthetic is not None:
        meta = build_synthetic(args.synthetic, args.size, args.seed, args.out, args.workers)
    else:
        raise SystemExit("--images: not implemented yet")
    counts = ", ".join(f"{k} {v}" for k, v in meta["counts"].items())
    print(f"wrote {args.out}: {counts} ({len(meta['skipped'])} skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
