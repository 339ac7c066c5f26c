"""Photos in, 8-bit sRGB squares out: the one photo reader of dataset.py, colorize.py,
evaluate.py --photos and tools/.

    rgb, ids, skipped = photos.prepare_photos("photos/", 128)

Every file under a folder with an image suffix is read once, hashed (sha256 of
its bytes) and decoded in worker processes: EXIF orientation applied, any mode
converted to 8-bit sRGB (alpha composited on white, ICC profiles honoured),
centre-cropped (or padded, or squashed) to a square and resized with Lanczos;
JPEGs are decoded at a reduced scale (draft mode) when that still leaves twice
the target size. A file that cannot be used is skipped with a reason, never
fatal: unreadable, empty, not an image, corrupt or truncated, decompression
bomb, too small, grayscale (judged by chroma, not by mode). Animated GIFs and
multi-page TIFFs give their first frame.

Gray modes deeper than 8 bits follow one rule (gray_full_scale), in training and
at inference alike: I;16 runs 0..65535; I and F do not say their range, so the
smallest of 0..1, 0..255, 0..65535 (or the image's own maximum) that holds every
value is white. Files do not carry a wider range than their data needs: a
16-bit scan whose brightest pixel is below 256 is so dark (under 0.4 % of the
range) that an 8-bit picture stored in 32-bit integers (what some tools write)
is the likelier reading.
"""

import hashlib
import io
import os
import warnings
from collections import namedtuple
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps
from tqdm import tqdm

import lab

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
FITS = ("crop", "pad", "resize")  # the square fits a dataset may take
FRAME = "frame"  # the whole photo, its shorter side the size, as colorize.py sees it
# Gray photos saved as RGB JPEGs measure below 0.5; the 20 real photos in ../shared/realdata
# measure 6.7 to 30.6 (mean chroma at 128 px).
DEFAULT_MIN_CHROMA = 2.0
# Above this many pixels a file is refused as a decompression bomb. Cameras reach ~100 MP.
DEFAULT_MAX_MEGAPIXELS = 120
PAD_COLOUR = (0, 0, 0)  # letterbox bars of --fit pad
ALPHA_BACKGROUND = (255, 255, 255)  # transparent pixels become white, as a viewer shows them
GRAY_SCALES = (1.0, 255.0, 65535.0)  # the value ranges that modes I and F are tried against
DEEP_GRAY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
ICC_MODES = ("RGB", "CMYK", "L")  # the modes whose embedded profile is converted to sRGB

SKIP_KINDS = ("unreadable", "empty file", "not an image", "corrupt or truncated",
              "decompression bomb", "too small", "grayscale", "duplicate")

DecodeOptions = namedtuple("DecodeOptions", "size fit draft min_chroma output")


class Skip(Exception):
    """One input that cannot be used; `kind` is one of SKIP_KINDS."""

    def __init__(self, kind, detail):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


# --------------------------------------------------------------------------- finding photos


def readable_suffixes():
    """Every suffix Pillow can open: colorize.py takes any of them, not only photo formats."""
    return tuple(sorted({suffix.lower() for suffix in Image.registered_extensions()}))


def list_photos(folder, suffixes=IMAGE_SUFFIXES):
    """Every path under `folder` with one of `suffixes`, sorted, symlinks and oddities included.

    Entries that are not readable files (a broken link, a folder named x.jpg) are kept
    so that the report names them instead of silently passing them by.
    """
    folder = Path(folder)
    found = []
    for root, dirs, files in walk_following_links(folder):
        for name in files + dirs:
            if Path(name).suffix.lower() in suffixes:
                found.append(Path(root) / name)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def walk_following_links(folder):
    """os.walk, sorted, that also enters symlinked folders (photos are often linked in from
    another disk); each real folder is entered once, so a link to an ancestor cannot loop."""
    visited = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in visited:
            dirs.clear()
            continue
        visited.add(real)
        dirs.sort()
        yield root, dirs, files


def paths_and_ids(paths_or_dir):
    """(paths, ids) of a folder (searched recursively; ids relative to it), one file or a list
    of files (ids as given)."""
    if isinstance(paths_or_dir, (str, Path)) and Path(paths_or_dir).is_dir():
        paths = list_photos(paths_or_dir)
        return paths, [p.relative_to(paths_or_dir).as_posix() for p in paths]
    if isinstance(paths_or_dir, (str, Path)):
        return [Path(paths_or_dir)], [str(paths_or_dir)]
    return [Path(p) for p in paths_or_dir], [str(p) for p in paths_or_dir]


# --------------------------------------------------------------------------- decoding


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


def gray_full_scale(image):
    """The value that is white in a gray image deeper than 8 bits (the rule in the module doc).

    I;16 says its range; I and F do not: the smallest of GRAY_SCALES (else the image's own
    maximum) that holds every value is taken, so a 0..255 picture stored as I is not black.
    """
    if image.mode.startswith("I;16"):
        return 65535.0
    top = float(np.asarray(image, dtype=np.float64).max(initial=0.0))
    return next((scale for scale in GRAY_SCALES if top <= scale), top)


def gray_levels(image):
    """(integer gray levels, number of levels) of a grayscale image, None for a colour one:
    8-bit gray keeps its 256 levels, deeper gray becomes 16-bit levels (gray_full_scale)."""
    if image.mode == "1":
        image = image.convert("L")
    if image.mode == "L":
        return np.asarray(image), 256
    if image.mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16, copy=False), 65536
    if image.mode in ("I", "F"):
        values = np.clip(np.asarray(image, dtype=np.float64), 0.0, None)
        return np.round(values * (65535.0 / gray_full_scale(image))).astype(np.uint16), 65536
    return None


def deep_gray_to_rgb(image):
    """16-bit, 32-bit or float gray (I;16, I, F) -> 8-bit RGB, white at gray_full_scale;
    Pillow's own convert clips at 255 instead."""
    values = np.asarray(image, dtype=np.float64)
    scale = 255.0 / gray_full_scale(image)
    gray = np.clip(np.round(values * scale), 0, 255).astype(np.uint8)
    return Image.fromarray(np.repeat(gray[..., None], 3, axis=-1))


def palette_to_colour(image):
    """A palette image as RGBA when it has a transparent entry, else RGB; others unchanged."""
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image


def to_srgb(image):
    """Any Pillow mode -> 8-bit sRGB: alpha over white, ICC profile honoured when present."""
    icc = image.info.get("icc_profile")
    if image.mode in DEEP_GRAY_MODES:
        return deep_gray_to_rgb(image)
    image = palette_to_colour(image)
    if image.mode in ALPHA_MODES:
        background = Image.new("RGBA", image.size, ALPHA_BACKGROUND + (255,))
        image = Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return apply_icc(image, icc).convert("RGB")


def split_alpha(image):
    """(the image without alpha, its alpha band or None), for colorize.py, which gives the
    alpha back to its output untouched instead of compositing it on white as to_srgb does."""
    image = palette_to_colour(image)
    if image.mode in ("LA", "La"):
        image = image.convert("LA")
        return image.getchannel("L"), image.getchannel("A")
    if image.mode in ("PA", "RGBA", "RGBa"):
        image = image.convert("RGBA")
        return image.convert("RGB"), image.getchannel("A")
    return image, None


def srgb_and_alpha(image):
    """(the image in sRGB, its alpha band or None) at full size and depth: colorize.py's reading.

    The ICC profile is honoured by the same rule as to_srgb, so a photo in Display P3, Adobe RGB
    or CMYK gets the same L* in colorize.py as in the dataset and evaluate.py --photos. Gray
    deeper than 8 bits stays as it is, for gray_levels to read at its own depth.
    """
    icc = image.info.get("icc_profile")
    image, alpha = split_alpha(image)
    return apply_icc(image, icc), alpha


def apply_icc(image, icc):
    """Embedded profile -> sRGB, for the modes of ICC_MODES; no profile, another mode or an
    unusable profile leaves the pixels as they are."""
    if not icc or image.mode not in ICC_MODES:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower():
            return image
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                         outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


def working_size(height, width, render_size):
    """(h, w) with the shorter side equal to render_size and the aspect ratio kept."""
    if render_size < 1:
        raise ValueError(f"render size must be positive, got {render_size}")
    scale = render_size / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def fit_square(image, size, fit):
    """(square image, box): box (left, top, right, bottom) is where the photo lies in the
    square: all of it, except for fit "pad", whose bars are not part of the photo. Fit FRAME
    is no square: the whole photo at working_size, its shorter side `size`."""
    if fit == FRAME:
        height, width = working_size(image.height, image.width, size)
        return image.resize((width, height), Image.LANCZOS), (0, 0, width, height)
    if fit == "crop":
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return (image.resize((size, size), Image.LANCZOS,
                             box=(left, top, left + side, top + side)), (0, 0, size, size))
    if fit == "resize":
        return image.resize((size, size), Image.LANCZOS), (0, 0, size, size)
    width, height = image.size
    scale = size / max(width, height)
    inner = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = Image.new("RGB", (size, size), PAD_COLOUR)
    offset = ((size - inner[0]) // 2, (size - inner[1]) // 2)
    canvas.paste(image.resize(inner, Image.LANCZOS), offset)
    return canvas, offset + (offset[0] + inner[0], offset[1] + inner[1])


def photo_to_rgb(data, size, fit="crop", draft=True):
    """File bytes -> (uint8 sRGB (size, size, 3), box of the photo in it, see fit_square);
    raises Skip with the reason when unusable.

    Only the first frame of animated or multi-page files is read (Pillow opens frame 0).
    """
    image = open_photo(data, size, fit, draft)
    try:
        image = ImageOps.exif_transpose(image)
        image = to_srgb(image)
        square, box = fit_square(image, size, fit)
        return np.asarray(square, dtype=np.uint8), box
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
        rgb, (left, top, right, bottom) = photo_to_rgb(data, options.size, options.fit,
                                                       options.draft)
        lab_image = lab.rgb_to_lab(rgb)
        # Only the photo: the black bars of --fit pad would dilute a colour photo's chroma.
        chroma = mean_chroma(lab_image[top:bottom, left:right])
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
    """The cores this process may use (its CPU affinity on Linux), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # cpu_count() is None where the count is unknown


def prepare_photos(paths_or_dir, size, fit="crop", *, draft=True, workers=None,
                   min_chroma=DEFAULT_MIN_CHROMA, max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """Photos -> (rgb uint8 (N, size, size, 3), ids, skipped), the dataset's own decode path.

    For evaluating on a folder of photos without building a dataset. `paths_or_dir` is a
    folder (searched recursively; ids are paths relative to it) or a list of files (ids are
    the paths as given). Nothing is deduplicated; skipped entries are {"id", "kind", "reason"}.
    With fit FRAME the rgb is a list of whole frames, each (h, w, 3) with min(h, w) == size.
    """
    if fit not in (*FITS, FRAME):
        raise ValueError(f"fit must be one of {FITS} or {FRAME!r}, got {fit!r}")
    paths, ids = paths_and_ids(paths_or_dir)
    options = DecodeOptions(size, fit, draft, min_chroma, ("rgb",))
    rgb, kept, skipped = [], [], []
    results = decode_photos(paths, ids, options, workers or default_workers(), max_megapixels,
                            "decoding photos") if paths else []
    for result in results:
        if "reason" in result:
            skipped.append(result)
        else:
            rgb.append(result["rgb"])
            kept.append(result["id"])
    if fit != FRAME:
        rgb = np.stack(rgb) if rgb else np.empty((0, size, size, 3), np.uint8)
    return rgb, kept, skipped
