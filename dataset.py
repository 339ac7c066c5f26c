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

Photos: every file under the folder with an image suffix is read once, hashed
(sha256 of its bytes) and decoded in worker processes: EXIF orientation applied,
any mode converted to 8-bit sRGB (alpha composited on white, ICC profiles
honoured), centre-cropped (or padded, or squashed) to a square and resized with
Lanczos; JPEGs are decoded at a reduced scale (draft mode) when that still
leaves twice the target size. A file that cannot be used is skipped with a
reason, never fatal: unreadable, empty, not an image, corrupt or truncated,
decompression bomb, too small, grayscale (judged by chroma, not by mode).
Animated GIFs and multi-page TIFFs give their first frame. Exact duplicates
(same sha256) are kept once.

The split of an image depends only on the sha256 of its content, so adding
photos never moves an existing one to another split and duplicates cannot
straddle two splits. Inside a split, images are ordered by sha256, so a rerun
gives byte-identical arrays.

The folder is built next to its final place and swapped in at the end, so a
killed run leaves the previous dataset (or none), never half of one; folders
left behind by killed runs are removed by the next run.
"""

import argparse
import ctypes
import errno
import hashlib
import io
import json
import os
import re
import shutil
import sys
import warnings
from collections import Counter, namedtuple
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps
from tqdm import tqdm

import lab
import mountains

SPLITS = ("train", "val", "test")
FORMAT_VERSION = 1
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
SPLIT_RULE = "sha256 of the content, first 8 bytes as a fraction"

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
FITS = ("crop", "pad", "resize")
# Gray photos saved as RGB JPEGs measure below 0.5; the 20 real photos in ../shared/realdata
# measure 6.7 to 30.6 (mean chroma at 128 px).
DEFAULT_MIN_CHROMA = 2.0
# Above this many pixels a file is refused as a decompression bomb. Cameras reach ~100 MP.
DEFAULT_MAX_MEGAPIXELS = 120
PAD_COLOUR = (0, 0, 0)  # letterbox bars of --fit pad
ALPHA_BACKGROUND = (255, 255, 255)  # transparent pixels become white, as a viewer shows them
COPY_BYTES = 64 << 20  # rows copied per step from the staging array into the split arrays

SKIP_KINDS = ("unreadable", "empty file", "not an image", "corrupt or truncated",
              "decompression bomb", "too small", "grayscale", "duplicate")

DecodeOptions = namedtuple("DecodeOptions", "size fit draft min_chroma output")


class DatasetError(Exception):
    """A dataset folder that is missing, incomplete or not what the caller expects."""


class NoUsableImageError(DatasetError):
    """Every input was skipped; `skipped` says why, one entry per input."""

    def __init__(self, message, skipped):
        super().__init__(message)
        self.skipped = skipped


class Skip(Exception):
    """One input that cannot be used; `kind` is one of SKIP_KINDS."""

    def __init__(self, kind, detail):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


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


# --------------------------------------------------------------------------- decoding photos


def list_photos(folder):
    """Every path under `folder` with an image suffix, sorted, symlinks and oddities included.

    Entries that are not readable files (a broken link, a folder named x.jpg) are kept
    so that the report names them instead of silently passing them by.
    """
    folder = Path(folder)
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files + dirs:
            if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                found.append(Path(root) / name)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def init_decoder(max_megapixels):
    """Pool initializer: Pillow's bomb limit is a process global, so it is set in workers only."""
    Image.MAX_IMAGE_PIXELS = int(max_megapixels * 1_000_000)
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def describe_content(data):
    """A hint for files Pillow does not recognise: HTML or text saved under an image name?"""
    head = data[:256]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"unknown format (starts with {head[:8]!r})"
    if text.isprintable() or all(c.isprintable() or c.isspace() for c in text):
        kind = "HTML" if "<html" in text.lower() or "<!doctype" in text.lower() else "text"
        return f"the file is {kind}, starting {text[:40].strip()!r}"
    return f"unknown format (starts with {head[:8]!r})"


def needed_side(width, height, fit):
    """The side that becomes `size` after fitting: the short one for crop/resize, long for pad."""
    return max(width, height) if fit == "pad" else min(width, height)


def open_photo(data, size, fit, draft):
    """Bytes -> a Pillow image, checked for bombs and size, in draft mode when asked."""
    try:
        Image.open(io.BytesIO(data)).verify()  # PNG: chunk checksums, which decoding ignores
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Skip("decompression bomb", str(exc)) from None
    except Image.UnidentifiedImageError:
        raise Skip("not an image", describe_content(data)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Skip("corrupt or truncated", f"{type(exc).__name__}: {exc}") from None
    width, height = image.size
    if needed_side(width, height, fit) < size:
        side = "long" if fit == "pad" else "short"
        raise Skip("too small", f"{width}x{height}, the {side} side must be at least {size}")
    if draft and image.format == "JPEG":
        # Decode at 1/2, 1/4 or 1/8 scale in libjpeg, keeping at least twice the target size.
        image.draft("RGB", (2 * size, 2 * size))
    return image


def gray16_to_rgb(image):
    """16-bit or float gray (I;16, I, F) -> 8-bit RGB; Pillow's own convert clips at 255."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        scale = 255.0 if values.size and values.max() <= 1.0 else 1.0  # 0..1 or 0..255 floats
    else:
        scale = 255.0 / 65535.0  # I;16 and I (Pillow's 16-bit PNG/TIFF) use the 16-bit range
    gray = np.clip(np.round(values * scale), 0, 255).astype(np.uint8)
    return Image.fromarray(np.repeat(gray[..., None], 3, axis=-1))


def to_srgb(image):
    """Any Pillow mode -> 8-bit sRGB: alpha over white, ICC profile honoured when present."""
    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return gray16_to_rgb(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        background = Image.new("RGBA", image.size, ALPHA_BACKGROUND + (255,))
        image = Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    if icc and image.mode in ("RGB", "CMYK", "L"):
        image = apply_icc(image, icc)
    return image.convert("RGB")


def apply_icc(image, icc):
    """Embedded profile -> sRGB; an unusable profile leaves the pixels as they are."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower():
            return image
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                         outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


def fit_square(image, size, fit):
    if fit == "crop":
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return image.resize((size, size), Image.LANCZOS, box=(left, top, left + side, top + side))
    if fit == "resize":
        return image.resize((size, size), Image.LANCZOS)
    width, height = image.size
    scale = size / max(width, height)
    inner = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = Image.new("RGB", (size, size), PAD_COLOUR)
    offset = ((size - inner[0]) // 2, (size - inner[1]) // 2)
    canvas.paste(image.resize(inner, Image.LANCZOS), offset)
    return canvas


def photo_to_rgb(data, size, fit="crop", draft=True):
    """File bytes -> uint8 sRGB (size, size, 3); raises Skip with the reason when unusable.

    Only the first frame of animated or multi-page files is read (Pillow opens frame 0).
    """
    image = open_photo(data, size, fit, draft)
    try:
        image = ImageOps.exif_transpose(image)
        image = to_srgb(image)
        return np.asarray(fit_square(image, size, fit), dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Skip("decompression bomb", str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Skip("corrupt or truncated", f"{type(exc).__name__}: {exc}") from None


def mean_chroma(lab_image):
    return float(np.hypot(lab_image[..., 1], lab_image[..., 2]).mean())


def decode_job(job):
    """Worker: one file -> {"id", "sha256", "lab" and/or "rgb"} or {"id", "kind", "reason"}."""
    path, photo_id, options = job
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return skipped_entry(photo_id, Skip("unreadable", exc.strerror or str(exc)))
    if not data:
        return skipped_entry(photo_id, Skip("empty file", "0 bytes"))
    digest = hashlib.sha256(data).hexdigest()
    try:
        rgb = photo_to_rgb(data, options.size, options.fit, options.draft)
        lab_image = lab.rgb_to_lab(rgb)
        chroma = mean_chroma(lab_image)
        if chroma < options.min_chroma:
            raise Skip("grayscale", f"mean chroma {chroma:.2f} < {options.min_chroma}")
    except Skip as skip:
        return skipped_entry(photo_id, skip, digest)
    except Exception as exc:  # a decoder bug on one odd file must not end the whole run
        return skipped_entry(photo_id, Skip("corrupt or truncated",
                                            f"{type(exc).__name__}: {exc}"), digest)
    result = {"id": photo_id, "sha256": digest}
    if "lab" in options.output:
        result["lab"] = lab_image
    if "rgb" in options.output:
        result["rgb"] = rgb
    return result


def skipped_entry(photo_id, skip, digest=None):
    entry = {"id": photo_id, "kind": skip.kind, "reason": str(skip)}
    if digest:
        entry["sha256"] = digest
    return entry


def load_colour_code():
    """Import skimage's lazily loaded colour code before forking workers, so that they inherit
    it instead of each importing it again (about a second per worker per build)."""
    lab.rgb_to_lab(np.zeros((1, 1, 3), np.uint8))


def decode_photos(paths, ids, options, workers, max_megapixels, desc):
    """Decode in a process pool; yields results in input order, holding only a few at a time."""
    load_colour_code()
    jobs = [(str(path), photo_id, options) for path, photo_id in zip(paths, ids)]
    workers = max(1, min(workers, len(jobs)))
    chunksize = max(1, min(16, len(jobs) // (workers * 8)))
    with Pool(workers, initializer=init_decoder, initargs=(max_megapixels,)) as pool:
        yield from tqdm(pool.imap(decode_job, jobs, chunksize=chunksize), total=len(jobs),
                        desc=desc, unit="img")


def default_workers():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def prepare_photos(paths_or_dir, size, fit="crop", *, draft=True, workers=None,
                   min_chroma=DEFAULT_MIN_CHROMA, max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """Photos -> (rgb uint8 (N, size, size, 3), ids, skipped), the dataset's own decode path.

    For evaluating on a folder of photos without building a dataset. `paths_or_dir` is a
    folder (searched recursively; ids are paths relative to it) or a list of files (ids are
    the paths as given). Nothing is deduplicated; skipped entries are {"id", "kind", "reason"}.
    """
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    if isinstance(paths_or_dir, (str, Path)) and Path(paths_or_dir).is_dir():
        paths = list_photos(paths_or_dir)
        ids = [p.relative_to(paths_or_dir).as_posix() for p in paths]
    elif isinstance(paths_or_dir, (str, Path)):
        paths, ids = [Path(paths_or_dir)], [str(paths_or_dir)]
    else:
        paths = [Path(p) for p in paths_or_dir]
        ids = [str(p) for p in paths_or_dir]
    options = DecodeOptions(size, fit, draft, min_chroma, ("rgb",))
    rgb = np.empty((len(paths), size, size, 3), np.uint8)
    kept, skipped = [], []
    results = decode_photos(paths, ids, options, workers or default_workers(), max_megapixels,
                            "decoding photos") if paths else []
    for result in results:
        if "reason" in result:
            skipped.append(result)
        else:
            rgb[len(kept)] = result["rgb"]
            kept.append(result["id"])
    return rgb[:len(kept)].copy(), kept, skipped


# --------------------------------------------------------------------------- writing


def file_sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_path(path):
    """Flush a file's or a folder's entries to disk, so a crash cannot reorder them."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_dataset(out, items, meta):
    """Write `items` (dicts with digest, id, rgb) atomically as a dataset folder at `out`.

    Kept for small in-memory uses; builders stream through write_dataset_stream.
    """
    def with_lab(item):
        return {"id": item["id"], "sha256": item["digest"], "lab": lab.rgb_to_lab(item["rgb"])}
    return write_dataset_stream(out, (with_lab(it) for it in items), len(items), meta)


def write_images(out, images, ids, source, fractions=DEFAULT_FRACTIONS):
    """Write in-memory uint8 sRGB images (tests, benchmarks) as a dataset folder, hashed,
    split and written exactly as the builders do."""
    items = [{"digest": hashlib.sha256(rgb.tobytes()).hexdigest(), "id": name, "rgb": rgb}
             for rgb, name in zip(images, ids)]
    meta = {"source": source, "size": int(images[0].shape[0]), "skipped": [],
            "split": split_meta(fractions)}
    return write_dataset(out, items, meta)


def write_dataset_stream(out, results, capacity, meta):
    """Write decoded results (see decode_job) atomically as a dataset folder at `out`.

    Results arrive in any order and are staged on disk as they come (memory stays
    bounded); then each split is written in sha256 order, checksummed, fsynced and
    swapped into place. At most `capacity` results. Raises NoUsableImageError, leaving
    any previous dataset untouched, when nothing usable arrived.
    """
    out = Path(out)
    size = meta["size"]
    fractions = check_fractions(meta["split"]["fractions"])
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
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
        with open(tmp / "meta.json", "w") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        fsync_path(tmp)
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # only still there when something failed
    return meta


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
        fsync_path(path)
        checksums[path.name] = file_sha256(path)
    return checksums


# Linux can swap two paths in one step; elsewhere two renames leave a short gap that
# remove_leftovers repairs on the next run.
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def exchange_paths(a, b):
    """Swap two existing paths atomically (renameat2 RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(new, dest):
    """Move a finished folder into place; at every instant `dest` is the old or the new one."""
    new, dest = Path(new), Path(dest)
    if not dest.exists():
        os.rename(new, dest)
    elif exchange_paths(new, dest):
        shutil.rmtree(new)  # now holds the previous dataset
    else:
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.rename(dest, old)
        os.rename(new, dest)
        shutil.rmtree(old, ignore_errors=True)
    fsync_path(dest.parent)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(out):
    """Delete .<name>.tmp-PID / .old-PID folders of dead runs; restore .old if `out` is gone."""
    out = Path(out)
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-(\d+)")
    if not out.parent.is_dir():
        return
    for path in sorted(out.parent.iterdir()):
        match = pattern.fullmatch(path.name)
        if not match or pid_alive(int(match[2])):
            continue
        if match[1] == "old" and not out.exists():
            os.rename(path, out)  # killed between the two renames of the fallback swap
        else:
            shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- builders


def split_meta(fractions):
    return {"rule": SPLIT_RULE, "fractions": list(fractions)}


def build_from_photos(folder, out, size=128, fit="crop", draft=True, workers=None,
                      fractions=DEFAULT_FRACTIONS, min_chroma=DEFAULT_MIN_CHROMA,
                      max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """A dataset folder at `out` from every photo under `folder`; returns its meta."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder")
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    fractions = check_fractions(fractions)
    paths = list_photos(folder)
    if not paths:
        raise NoUsableImageError(
            f"no usable image in {folder}: no files ending in {', '.join(IMAGE_SUFFIXES)}", [])
    ids = [p.relative_to(folder).as_posix() for p in paths]
    options = DecodeOptions(size, fit, draft, min_chroma, ("lab",))
    meta = {"source": "photos", "source_folder": str(folder.resolve()), "size": size,
            "fit": fit, "draft": draft, "min_chroma": min_chroma,
            "max_megapixels": max_megapixels, "inputs": len(paths), "skipped": [],
            "split": split_meta(fractions)}
    results = decode_photos(paths, ids, options, workers or default_workers(), max_megapixels,
                            "decoding photos")
    try:
        return write_dataset_stream(out, results, len(paths), meta)
    except NoUsableImageError as exc:
        raise NoUsableImageError(f"no usable image in {folder}: all {len(paths)} inputs "
                                 f"were skipped", exc.skipped) from None


def render_item(job):
    """Worker: one landscape -> {"id", "sha256", "lab"}."""
    seed, index, size = job
    rgb = mountains.render_landscape((seed, index), size)
    return {"id": f"synthetic-{index:06d}", "sha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
            "lab": lab.rgb_to_lab(rgb)}


def build_synthetic(count, size, seed, out, workers, fractions=DEFAULT_FRACTIONS):
    jobs = [(seed, i, size) for i in range(count)]
    meta = {"source": "synthetic", "generator": "mountains.render_landscape", "seed": seed,
            "size": size, "inputs": count, "skipped": [], "split": split_meta(fractions)}
    load_colour_code()
    with Pool(max(1, workers or default_workers())) as pool:
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
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", type=int, metavar="N",
                        help="render N built-in mountain landscapes")
    source.add_argument("--images", type=Path, metavar="DIR",
                        help="a folder of photos, searched recursively")
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic landscapes")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="processes used for decoding or rendering")
    parser.add_argument("--split", type=float, nargs=3, default=DEFAULT_FRACTIONS,
                        metavar=("TRAIN", "VAL", "TEST"),
                        help="split fractions (changing them moves images between splits)")
    parser.add_argument("--fit", choices=FITS, default="crop",
                        help="square photos by centre crop, by padding (black bars) or by "
                             "plain resize (distorts)")
    parser.add_argument("--no-draft", dest="draft", action="store_false",
                        help="decode JPEGs at full resolution (slower; for comparison) "
                             "(draft decoding on: %(default)s)")
    parser.add_argument("--min-chroma", type=float, default=DEFAULT_MIN_CHROMA,
                        help="photos whose mean Lab chroma is below this are skipped as grayscale")
    parser.add_argument("--max-megapixels", type=float, default=DEFAULT_MAX_MEGAPIXELS,
                        help="larger declared sizes are skipped as decompression bombs")
    args = parser.parse_args(argv)
    if args.size < 8:
        parser.error("--size must be at least 8")
    if args.synthetic is not None and args.synthetic < 1:
        parser.error("--synthetic must be at least 1")
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
                                   args.split)
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
