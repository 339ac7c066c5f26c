"""Turn photos (or the built-in landscapes) into Lab arrays with a fixed split.

    python dataset.py --synthetic 2500 --size 128 --out data/mountains-synth
    python dataset.py --images data/raw --size 128 --out data/mountains
    python dataset.py --images data/raw --fit pad --split 0.8 0.1 0.1 --out data/mountains-pad

A dataset folder holds, per split (train / val / test), two memory-mappable
arrays in Lab units (see lab.py):

    <split>_L.npy    float32 (N, H, W, 1)   L* in 0..100
    <split>_ab.npy   float32 (N, H, W, 2)   a*, b*

and meta.json: image size, source, counts, every skipped input with its
reason, the split rule, checksums and the members of each split.

Photos are found and decoded by photos.py (the same reader as colorize.py and
evaluate.py --photos): any mode to 8-bit sRGB, centre-cropped (or padded, or
squashed) to a square; a file that cannot be used is skipped with a reason,
never fatal. Exact duplicates (same sha256) are kept once.

The split of an image depends only on the sha256 of its content, so adding
photos never moves an existing one to another split and duplicates cannot
straddle two splits. Inside a split, images are ordered by sha256, so a rerun
gives byte-identical arrays.

The folder is built next to its final place and swapped in at the end, so a
killed run leaves the previous dataset (or none), never half of one; folders
left behind by killed runs are removed by the next run. Only a dataset folder
(one with meta.json) or an empty one is ever replaced: an --out that holds
anything else, or the photos themselves, is refused before any work.
"""

import argparse
import hashlib
import json
import os
import sys
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm import tqdm

import cli
import download
import files
import lab
import mountains
import photos

SPLITS = ("train", "val", "test")
FORMAT_VERSION = 1
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
# render_landscape's rendering options and their defaults
RENDER_OPTIONS = {"zoom": 1.0, "fine": 1.0, **mountains.SHARE_DEFAULTS}
SPLIT_RULE = "sha256 of the content, first 8 bytes as a fraction"

COPY_BYTES = 64 << 20  # rows copied per step from the staging array into the split arrays


class DatasetError(Exception):
    """A dataset folder that is missing, incomplete or not what the caller expects."""


class NoUsableImageError(DatasetError):
    """Every input was skipped; `skipped` says why, one entry per input."""

    def __init__(self, message, skipped):
        super().__init__(message)
        self.skipped = skipped


# --------------------------------------------------------------------------- split


def split_of(digest, fractions=DEFAULT_FRACTIONS):
    """Map a hex sha256 to a split, stably: the first 8 bytes give a uniform number in [0, 1)."""
    u = int(digest[:16], 16) / 2**64
    edges = np.cumsum(fractions)
    for name, edge in zip(SPLITS, edges):
        if u < edge:
            return name
    return SPLITS[-1]


def check_fractions(fractions):
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != len(SPLITS) or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"split fractions must be {len(SPLITS)} numbers >= 0 that sum to 1, "
                         f"got {fractions}")
    return fractions


# --------------------------------------------------------------------------- writing


def file_sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def check_out(out, source=None):
    """Refuse an output folder whose replacement would delete something that is not a dataset.

    The new dataset is swapped in over `out` and the old contents are deleted, so `out` must be
    missing, empty, or a dataset folder (it holds meta.json); it must not be, hold or sit inside
    the photo folder `source` (`--images data/raw --out data/raw` would erase the photos).
    """
    out = Path(out)
    refusal = files.not_a_folder("--out", out, "a dataset folder")
    if refusal:
        raise DatasetError(refusal)
    if source is not None:
        out_path, source_path = out.resolve(), Path(source).resolve()
        if out_path == source_path or out_path.is_relative_to(source_path):
            raise DatasetError(f"--out {out} is the photo folder {source} or inside it: "
                               f"write the dataset beside it, e.g. --out data/mountains")
        if source_path.is_relative_to(out_path):
            raise DatasetError(f"the photo folder {source} is inside --out {out}: replacing "
                               f"{out} would delete the photos")
    if out.is_dir() and any(out.iterdir()) and not is_dataset_folder(out):
        raise DatasetError(f"--out {out} holds files but no dataset (no meta.json of "
                           f"dataset.py): writing there would delete them; choose a new or "
                           f"empty folder")


def is_dataset_folder(folder):
    """Whether `folder` holds the meta.json that write_dataset_stream writes (any format)."""
    try:
        with open(Path(folder) / "meta.json") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "format_version" in meta


def write_dataset_stream(out, results, capacity, meta, attributions=None):
    """Write decoded results (see decode_job) atomically as a dataset folder at `out`.

    `attributions` ({input id: author, licence, ...}), when given, is stored in meta.json for the
    members only: a photo skipped or dropped as a duplicate is not in the dataset to credit.

    Results arrive in any order and are staged on disk as they come (memory stays
    bounded); then each split is written in sha256 order, checksummed, fsynced and
    swapped into place. At most `capacity` results. Raises NoUsableImageError, leaving
    any previous dataset untouched, when nothing usable arrived, and DatasetError when `out`
    is not a folder it may replace (check_out).
    """
    out = Path(out)
    check_out(out)
    size = meta["size"]
    fractions = check_fractions(meta["split"]["fractions"])
    with files.atomic_dir(out) as tmp:
        staging = np.lib.format.open_memmap(tmp / "staging.npy", mode="w+", dtype=np.float32,
                                            shape=(max(capacity, 1), size, size, 3))
        kept, skipped = stage_results(results, staging, capacity)
        kept, duplicates = drop_duplicates(kept)
        skipped = sorted(list(meta.get("skipped", [])) + skipped + duplicates,
                         key=lambda entry: entry["id"])
        if not kept:
            raise NoUsableImageError(f"no usable image among {len(skipped)} inputs", skipped)
        by_split = {name: [] for name in SPLITS}
        for item in sorted(kept, key=lambda it: it["sha256"]):
            by_split[split_of(item["sha256"], fractions)].append(item)
        checksums = {}
        for name in SPLITS:
            checksums.update(write_split(tmp, name, by_split[name], staging))
        del staging
        os.remove(tmp / "staging.npy")
        meta = dict(meta)
        meta.update({
            "format_version": FORMAT_VERSION,
            "size": size,
            "counts": {name: len(by_split[name]) for name in SPLITS},
            "skipped": skipped,
            "checksums": checksums,
            "checksum": hashlib.sha256(json.dumps(checksums, sort_keys=True).encode()).hexdigest(),
            "members": {name: [{"id": it["id"], "sha256": it["sha256"]} for it in by_split[name]]
                        for name in SPLITS},
        })
        if attributions is not None:
            meta["attributions"] = member_attributions(attributions, by_split)
        files.write_json_atomic(tmp / "meta.json", meta)
    return meta


def member_attributions(attributions, by_split):
    members = {item["id"] for group in by_split.values() for item in group}
    return {name: record for name, record in sorted(attributions.items()) if name in members}


def stage_results(results, staging, capacity):
    """Copy each usable result's Lab into the next staging row; collect the skipped ones."""
    kept, skipped = [], []
    for result in results:
        if "reason" in result:
            skipped.append(result)
            continue
        if len(kept) >= capacity:
            raise ValueError(f"more results than the capacity of {capacity}")
        staging[len(kept)] = result["lab"]
        kept.append({"id": result["id"], "sha256": result["sha256"], "row": len(kept)})
    return kept, skipped


def drop_duplicates(kept):
    """Keep one item per sha256 (the first id in sorted order); report the others."""
    first = {}
    for item in sorted(kept, key=lambda it: it["id"]):
        first.setdefault(item["sha256"], item)
    unique = list(first.values())
    duplicates = [{"id": it["id"], "kind": "duplicate", "sha256": it["sha256"],
                   "duplicate_of": first[it["sha256"]]["id"],
                   "reason": f"duplicate: same sha256 as {first[it['sha256']]['id']}"}
                  for it in kept if first[it["sha256"]] is not it]
    return unique, duplicates


def write_split(folder, name, group, staging):
    """<name>_L.npy and <name>_ab.npy from the staging rows of `group`, in order; checksums."""
    size = staging.shape[1]
    lightness = np.lib.format.open_memmap(folder / f"{name}_L.npy", mode="w+", dtype=np.float32,
                                          shape=(len(group), size, size, 1))
    ab = np.lib.format.open_memmap(folder / f"{name}_ab.npy", mode="w+", dtype=np.float32,
                                   shape=(len(group), size, size, 2))
    rows = np.array([item["row"] for item in group], dtype=np.int64)
    step = max(1, COPY_BYTES // staging[0].nbytes)
    for start in range(0, len(rows), step):
        block = staging[rows[start:start + step]]
        lightness[start:start + len(block)], ab[start:start + len(block)] = lab.split_lab(block)
    lightness.flush()
    ab.flush()
    del lightness, ab
    checksums = {}
    for suffix in ("L", "ab"):
        path = folder / f"{name}_{suffix}.npy"
        files.fsync_path(path)
        checksums[path.name] = file_sha256(path)
    return checksums


# --------------------------------------------------------------------------- builders


def split_meta(fractions):
    return {"rule": SPLIT_RULE, "fractions": list(fractions)}


def build_from_photos(folder, out, size=128, fit="crop", draft=True, workers=None,
                      fractions=DEFAULT_FRACTIONS, min_chroma=photos.DEFAULT_MIN_CHROMA,
                      max_megapixels=photos.DEFAULT_MAX_MEGAPIXELS):
    """A dataset folder at `out` from every photo under `folder`; returns its meta.

    meta.json credits each member photo with what a scrape.py manifest under the folder says
    about it (download.read_attributions)
    ("attributions": {member id: licence, licence_url, author, page_url, source}; {} without one).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder")
    check_out(out, folder)
    if fit not in photos.FITS:
        raise ValueError(f"fit must be one of {photos.FITS}, got {fit!r}")
    fractions = check_fractions(fractions)
    paths = photos.list_photos(folder)
    if not paths:
        raise NoUsableImageError(
            f"no usable image in {folder}: no files ending in "
            f"{', '.join(photos.IMAGE_SUFFIXES)}", [])
    ids = [p.relative_to(folder).as_posix() for p in paths]
    options = photos.DecodeOptions(size, fit, draft, min_chroma, ("lab",))
    meta = {"source": "photos", "source_folder": str(folder.resolve()), "size": size,
            "fit": fit, "draft": draft, "min_chroma": min_chroma,
            "max_megapixels": max_megapixels, "inputs": len(paths), "skipped": [],
            "split": split_meta(fractions)}
    results = photos.decode_photos(paths, ids, options, workers or photos.default_workers(),
                                   max_megapixels, "decoding photos")
    try:
        return write_dataset_stream(out, results, len(paths), meta,
                                    download.read_attributions(folder))
    except NoUsableImageError as exc:
        raise NoUsableImageError(f"no usable image in {folder}: all {len(paths)} inputs "
                                 f"were skipped", exc.skipped) from None


SYNTHETIC_ID = "synthetic-{:06d}"  # a built-in landscape's id: the index of its seed


def render_item(job):
    """Worker: one landscape -> {"id", "sha256", "lab"}."""
    seed, index, size, options = job
    rgb = mountains.render_landscape((seed, index), size, **options)
    return {"id": SYNTHETIC_ID.format(index), "sha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
            "lab": lab.rgb_to_lab(rgb)}


def member_scenes(meta, split):
    """The mountains.Scene of each member of a built-in dataset's split, in the split's order:
    what each landscape shows (its sky, season, foreground), read back from its seed."""
    if meta.get("source") != "synthetic":
        raise DatasetError("only built-in landscapes (dataset.py --synthetic) know their scenes")
    prefix = SYNTHETIC_ID.split("{")[0]
    sunsets = meta.get("sunsets", mountains.SUNSETS)
    return [mountains.scene_of((meta["seed"], int(member["id"].removeprefix(prefix))), sunsets)
            for member in meta["members"][split]]


def build_synthetic(count, size, seed, out, workers, fractions=DEFAULT_FRACTIONS, **options):
    """Render `count` landscapes into a dataset; options are mountains.render_landscape's
    (RENDER_OPTIONS), recorded in meta.json and asked for again on a rebuild."""
    check_out(out)  # before the pool starts rendering
    options = {**RENDER_OPTIONS, **options}
    jobs = [(seed, i, size, options) for i in range(count)]
    meta = {"source": "synthetic", "generator": "mountains.render_landscape", "seed": seed,
            **options,
            "generator_fingerprint": mountains.generator_fingerprint(),
            "size": size, "inputs": count, "skipped": [], "split": split_meta(fractions)}
    photos.load_colour_code()
    with Pool(max(1, workers or photos.default_workers())) as pool:
        results = tqdm(pool.imap(render_item, jobs, chunksize=16), total=count,
                       desc="rendering landscapes", unit="img")
        return write_dataset_stream(out, results, count, meta)


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


def describe_fingerprint(fingerprint):
    if not fingerprint:
        return "no fingerprint recorded"
    return (f"version {fingerprint.get('version')}, rendering code "
            f"{str(fingerprint.get('rendering_sha256'))[:12]}")


def check_generator(meta, folder="DIR"):
    """Refuse a built-in dataset that another landscape generator rendered (its numbers would
    describe landscapes the code no longer draws); photo datasets always pass.

    The fingerprint is mountains.generator_fingerprint(): GENERATOR_VERSION and a sha256 of
    the rendering code's syntax tree, so it changes exactly when the drawing code changes.
    """
    if meta.get("source") != "synthetic":
        return
    recorded, current = meta.get("generator_fingerprint"), mountains.generator_fingerprint()
    if recorded == current:
        return
    raise DatasetError(
        f"{folder}: built by another version of the landscape generator "
        f"({describe_fingerprint(recorded)}, now {describe_fingerprint(current)}): rebuild with "
        f"'python dataset.py {' '.join(rebuild_arguments(meta, folder))}'")


def is_current(meta):
    """Whether this version of the generator drew the dataset (photo datasets always pass):
    study.py and tools/variants.py render a stale one again instead of refusing it."""
    try:
        check_generator(meta)
    except DatasetError:
        return False
    return True


def rebuild_arguments(meta, folder):
    """dataset.py's arguments that render a built-in dataset again as its meta.json describes
    it: same count, size, seed, rendering options and split."""
    arguments = ["--synthetic", str(meta.get("inputs", 2500)),
                 "--size", str(meta.get("size", 128)), "--seed", str(meta.get("seed", 0))]
    for name, default in RENDER_OPTIONS.items():
        if meta.get(name, default) != default:
            arguments += [f"--{name}", exact_number(meta[name])]
    fractions = meta.get("split", {}).get("fractions", list(DEFAULT_FRACTIONS))
    if tuple(fractions) != DEFAULT_FRACTIONS:
        arguments += ["--split", *map(str, fractions)]
    return arguments + ["--out", str(folder)]


def exact_number(value):
    """A float as short text that reads back as the same float: "3" and "0.25" as `:g` writes
    them, but 1.2345678 in full (`:g` keeps 6 digits, and a rebuild would draw other
    landscapes)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


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


def skip_report(skipped, limit=50):
    """Lines for the terminal: a count per kind, then one line per skipped input."""
    if not skipped:
        return []
    kinds = Counter(entry["kind"] for entry in skipped)
    lines = [f"skipped {len(skipped)}: " + ", ".join(f"{n} {k}" for k, n in kinds.most_common())]
    lines += [f"  {entry['id']}: {entry['reason']}" for entry in skipped[:limit]]
    if len(skipped) > limit:
        lines.append(f"  ... {len(skipped) - limit} more in meta.json")
    return lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", type=int, metavar="N",
                        help="render N built-in mountain landscapes")
    source.add_argument("--images", type=Path, metavar="DIR",
                        help="a folder of photos, searched recursively")
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic landscapes")
    parser.add_argument("--zoom", type=float, default=1.0,
                        help="synthetic: render each landscape up to this many times larger "
                             "(log-uniform) and keep a random crop: close-ups beside vistas")
    parser.add_argument("--fine", type=float, default=1.0,
                        help="synthetic: render each landscape up to this many times larger "
                             "(log-uniform) and bring all of it down to --size: textures up "
                             "to this many times finer per pixel")
    mountains.add_share_arguments(parser, prefix="synthetic: ")
    parser.add_argument("--workers", type=int, default=photos.default_workers(),
                        help="processes used for decoding or rendering")
    parser.add_argument("--split", type=float, nargs=3, default=DEFAULT_FRACTIONS,
                        metavar=("TRAIN", "VAL", "TEST"),
                        help="split fractions (changing them moves images between splits)")
    parser.add_argument("--fit", choices=photos.FITS, default="crop",
                        help="square photos by centre crop, by padding (black bars) or by "
                             "plain resize (distorts)")
    parser.add_argument("--no-draft", dest="draft", action="store_false",
                        help="decode JPEGs at full resolution (slower; for comparison) "
                             "(draft decoding on: %(default)s)")
    parser.add_argument("--min-chroma", type=float, default=photos.DEFAULT_MIN_CHROMA,
                        help="photos whose mean Lab chroma is below this are skipped as grayscale")
    parser.add_argument("--max-megapixels", type=float, default=photos.DEFAULT_MAX_MEGAPIXELS,
                        help="larger declared sizes are skipped as decompression bombs")
    args = parser.parse_args(argv)
    if args.size < 8:
        parser.error("--size must be at least 8")
    if args.synthetic is not None and args.synthetic < 1:
        parser.error("--synthetic must be at least 1")
    if args.seed < 0:
        parser.error("--seed must be 0 or positive")
    if args.zoom < 1 or args.fine < 1:
        parser.error("--zoom and --fine must be at least 1")
    if args.zoom > 1 and args.fine > 1:
        parser.error("--zoom and --fine cannot both be above 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.max_megapixels <= 0:
        parser.error("--max-megapixels must be positive")
    try:
        args.split = check_fractions(args.split)
    except ValueError as exc:
        parser.error(f"--split: {exc}")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.synthetic is not None:
            meta = build_synthetic(args.synthetic, args.size, args.seed, args.out, args.workers,
                                   args.split, **{name: getattr(args, name)
                                                  for name in RENDER_OPTIONS})
        else:
            meta = build_from_photos(args.images, args.out, args.size, args.fit, args.draft,
                                     args.workers, args.split, args.min_chroma,
                                     args.max_megapixels)
    except NoUsableImageError as exc:
        print("\n".join(skip_report(exc.skipped)), file=sys.stderr)
        raise SystemExit(f"error: {exc}; nothing written to {args.out}") from None
    except DatasetError as exc:
        raise SystemExit(f"error: {exc}") from None
    counts = ", ".join(f"{k} {v}" for k, v in meta["counts"].items())
    print(f"wrote {args.out}: {counts} ({len(meta['skipped'])} skipped)")
    for line in skip_report(meta["skipped"]):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
