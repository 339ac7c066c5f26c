"""Colorize your own photos at full resolution with a model that train.py fitted.

    make model && python colorize.py old_photo.jpg scans/ --out colorized/   # runs/model
    make model-sunset && python colorize.py --light sunset evening.jpg     # runs/model-sunset
    python colorize.py --model runs/unet-seed-mse-s0 old_photo.jpg --side-by-side --format png

The network only decides the colour. It sees the photo's lightness L* at a small working size (the
shorter side becomes --render-size, by default the size the model was trained at, so a scene
appears at the scale the model knows), padded by reflection to a multiple of the model's stride.
Its a*b* prediction is cropped, upsampled smoothly to the photo's full size and joined with the
photo's own full-resolution L*: every detail of the input survives. From the second photo of a
working shape on, the network runs as a graph traced for that shape (ShapeTracedModel). Folders are
walked recursively and mirrored under --out, which may lie above an input folder (`scans/ --out .`)
or inside one (earlier outputs there are not colorized again) but not be one; no output ever
replaces an input. A bad file is reported and skipped, and the exit status is 1 if any file failed.
"""

import argparse
import functools
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

import cli
import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)
import files
import lab
import photos
import runs

# --light: the colorizer for photos taken in that light, and the make target that trains it
LIGHT_MODELS = {"any": ("runs/model", "make model"),
                "sunset": ("runs/model-sunset", "make model-sunset")}
DEFAULT_MODEL = LIGHT_MODELS["any"][0]  # where `make model` puts the recommended colorizer
DEFAULT_RENDER_SIZE = 128  # the seed study's training size, used when a model has no config.json
DEFAULT_STRIDE = 32  # the seed U-Net's total stride, used when a model has no config.json
FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF"}
SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tiff", "BMP": ".bmp"}
KEPT_FORMATS = set(SUFFIXES)  # an input in another format (GIF, PPM, ...) is written as PNG
SAVE_OPTIONS = {"JPEG": {"quality": 95}, "PNG": {"compress_level": 1},
                "WEBP": {"quality": 92}, "TIFF": {}, "BMP": {}}
EXIF_FORMATS = {"JPEG", "PNG", "WEBP"}
BAND_ROWS = 256  # rows per band of full-size work: small float temporaries, one band per thread


# ---------------------------------------------------------------- the model and its run folder

def train_hint(light="any"):
    target = LIGHT_MODELS[light][1]
    return (f"train it first with `{target}` (the recommended colorizer for photos in "
            f"{light} light, built-in data only), or pass --model with any run folder, e.g. one "
            "of `make demo`'s in runs/demo/")


def resolve_model_path(path, light="any"):
    """A run folder means its model.keras; a missing model gets the command that trains one."""
    path = Path(path)
    if path.is_dir():
        path = path / runs.MODEL_FILE
    if not path.is_file():
        raise SystemExit(f"no trained model at {path}: {train_hint(light)}")
    return path


def read_model_config(model_path):
    """The training size and stride from config.json beside the model, with seed-study defaults.

    A broken config.json stops the run with the file's name, not a traceback: it is the file
    a user has to fix (or delete, to get the defaults). So does a run still training, whose
    model.keras is only its best epoch so far.
    """
    folder = Path(model_path).parent
    invalid = f"{folder / runs.CONFIG_FILE}: image_size and stride must be positive whole numbers"
    if not (folder / runs.CONFIG_FILE).is_file():
        return DEFAULT_RENDER_SIZE, DEFAULT_STRIDE
    try:
        config = runs.read_run(folder)
        image_size = int(config.get("image_size", DEFAULT_RENDER_SIZE))
        stride = int(config.get("stride", DEFAULT_STRIDE))
        if image_size < 1 or stride < 1:
            raise SystemExit(invalid)
        runs.check_finished(folder, config)  # after the sizes: a broken file is named first
    except runs.RunError as error:
        raise SystemExit(str(error)) from None
    except (TypeError, ValueError):  # null, "big", [128], 0
        raise SystemExit(invalid) from None
    return image_size, stride


def load_model(model_path):
    """Load once per run; Keras is imported here so that --help and argument errors stay instant."""
    import models

    try:
        return models.load_saved(model_path)
    except models.SavedModelError as error:
        raise SystemExit(str(error)) from None


class ShapeTracedModel:
    """The model as a function of encoded L: eager on a shape's first input, through a graph
    traced for that shape once it comes again.

    Eager execution runs one operation at a time: make model's ensemble (three networks at
    four views) takes about 0.9 s on a 4:3 photo, 0.2 s as a graph, which takes about 3 s
    to trace (Zen 4). A folder's photos share a few working shapes (their sides padded to the
    stride), so a shape traced when it repeats speeds up folders and never slows down a single
    photo. Each graph keeps its shape: Keras' predict relaxes the shape to None, which its
    bilinear UpSampling2D cannot take.
    """

    def __init__(self, model):
        self.model = model
        self.seen, self.graphs = set(), {}

    def __call__(self, inputs):
        shape = tuple(inputs.shape)
        if shape in self.graphs:
            return self.graphs[shape](inputs)
        if shape not in self.seen:
            self.seen.add(shape)
            return self.model(inputs, training=False)
        import tensorflow as tf

        graph = tf.function(lambda batch: self.model(batch, training=False),
                            input_signature=[tf.TensorSpec(shape, inputs.dtype)])
        self.graphs[shape] = graph
        return graph(inputs)


# ---------------------------------------------------------------- full-size work in bands

def worker_count():
    """Threads for the bands: every core, up to 8."""
    return min(8, photos.default_workers())


def in_bands(height, work):
    """Call work(rows) for horizontal bands of `height` rows, in threads.

    skimage's Lab conversion and Pillow's resampling are single-threaded but release the GIL:
    bands in threads use every core, and each band's float temporaries stay a few MB.
    """
    bands = [slice(start, min(start + BAND_ROWS, height)) for start in range(0, height, BAND_ROWS)]
    with ThreadPoolExecutor(worker_count()) as pool:
        list(pool.map(work, bands))


# ---------------------------------------------------------------- reading a photo

def read_photo(path):
    """Decode fully and turn upright, so the output looks as the input does in a photo viewer."""
    with Image.open(path) as image:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        return image


@functools.lru_cache(maxsize=None)
def gray_lightness_table(levels):
    """L* of every gray level: a gray pixel's L* depends on its level only, so a lookup table
    (computed through lab.py, exactly) replaces a full-size Lab conversion for gray scans."""
    ramp = np.linspace(0.0, 1.0, levels)
    gray_rgb = np.repeat(ramp[:, None, None], 3, axis=-1)
    return lab.rgb_to_l(gray_rgb)[:, 0, 0].astype(np.float32)


def photo_lightness(image):
    """(L* float32 (H, W), alpha band or None) of a photo in any mode Pillow reads.

    Colour photos count as their luminance, in sRGB after their ICC profile (photos.py reads
    them, as it does for training); gray ones, and colour files holding a gray picture, go
    through a lookup table.
    """
    image, alpha = photos.srgb_and_alpha(image)
    gray = photos.gray_levels(image)
    if gray is None:
        rgb = np.asarray(image.convert("RGB"))
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
            gray = rgb[..., 0], 256
    if gray is not None:
        levels, count = gray
        return gray_lightness_table(count)[levels], alpha
    lightness = np.empty(rgb.shape[:2], np.float32)

    def convert_band(rows):
        lightness[rows] = lab.rgb_to_l(rgb[rows], np.float32)[..., 0]

    in_bands(len(lightness), convert_band)
    return lightness, alpha


def photo_as_rgb(image):
    """The input as a viewer shows it, 8-bit sRGB, for the side-by-side pair."""
    image = photos.srgb_and_alpha(image)[0]
    gray = photos.gray_levels(image)
    if gray is not None and gray[1] > 256:
        image = Image.fromarray(np.round(gray[0] / 257.0).astype(np.uint8))
    return image.convert("RGB")


# ---------------------------------------------------------------- the network at working size

def network_side(side, stride):
    """A working side padded up to the next multiple of the stride: what the network sees."""
    return side + -side % stride


def predict_ab(network, lightness, render_size, stride):
    """a*b* (h, w, 2) predicted from L* seen at working size (h, w); `network` maps encoded L
    (1, H, W, 1) to ab/128, as ShapeTracedModel(model) does."""
    height, width = photos.working_size(*lightness.shape, render_size)
    small = Image.fromarray(lightness).resize((width, height), Image.Resampling.LANCZOS,
                                              reducing_gap=3.0)
    return padded_prediction(network, np.asarray(small), stride)


def padded_prediction(network, lightness, stride):
    """a*b* (h, w, 2) of L* (h, w), padded by reflection to a multiple of the stride for the
    network and cropped back (evaluate.py --whole-frames scores photos this way)."""
    height, width = lightness.shape
    pad_h, pad_w = network_side(height, stride) - height, network_side(width, stride) - width
    top, left = pad_h // 2, pad_w // 2
    padded = np.pad(lightness, ((top, pad_h - top), (left, pad_w - left)), mode="reflect")
    inputs = lab.encode_l(padded)[None, :, :, None]
    outputs = np.asarray(network(inputs), dtype=np.float32)
    if outputs.shape != (1, *padded.shape, 2):
        raise ValueError(f"the model turned an input of {inputs.shape} into {outputs.shape}; "
                         f"expected (1, H, W, 2) ab/128 as in lab.py")
    return lab.decode_ab(outputs[0, top:top + height, left:left + width])


def upsample_ab(ab, height, width):
    """Smooth (bicubic) a*b* at full size, as two (H, W) float32 planes.

    Each band is resampled from its own box of the small prediction, which gives the same
    pixels as one big resize, in parallel.
    """
    small_height, small_width = ab.shape[:2]
    small = [Image.fromarray(np.ascontiguousarray(ab[..., channel])) for channel in range(2)]
    planes = [np.empty((height, width), np.float32) for _ in small]

    def resample_band(rows):
        scale = small_height / height
        box = (0, rows.start * scale, small_width, rows.stop * scale)
        for small_plane, plane in zip(small, planes):
            plane[rows] = small_plane.resize((width, rows.stop - rows.start),
                                             Image.Resampling.BICUBIC, box=box)

    in_bands(height, resample_band)
    return planes


def lab_to_rgb_full(lightness, a_plane, b_plane):
    """uint8 sRGB (H, W, 3) from full-size L*, a*, b*: the photo's own L*, the network's colour."""
    rgb = np.empty((*lightness.shape, 3), np.uint8)

    def convert_band(rows):
        band_ab = np.stack([a_plane[rows], b_plane[rows]], axis=-1)
        band_lab = lab.join_lab(lightness[rows, :, None], band_ab)
        rgb[rows] = lab.lab_to_rgb_uint8(band_lab, np.float32)

    in_bands(len(rgb), convert_band)
    return rgb


def colorize_image(network, image, render_size, stride, saturation=1.0):
    """A colour PIL image of the same size as `image` (and its alpha, if it has one).

    saturation scales the predicted a*b*: a network trained on a distance or MSE predicts a
    compromise between the colours a gray tone could have, paler than any of them, and a user
    may prefer bolder colour to the most likely one (the README measures the trade).
    """
    lightness, alpha = photo_lightness(image)
    ab = predict_ab(network, lightness, render_size, stride) * np.float32(saturation)
    a_plane, b_plane = upsample_ab(ab, *lightness.shape)
    colorized = Image.fromarray(lab_to_rgb_full(lightness, a_plane, b_plane))
    if alpha is not None:
        colorized.putalpha(alpha)
    return colorized


# ---------------------------------------------------------------- files in, files out

def collect_inputs(paths, out_dir):
    """[(input file, its path relative to the output folder)]: folders recursively, in order.

    When out_dir lies inside an input folder, the files under it are left out, so that earlier
    outputs are not colorized again; out_dir above an input folder (`scans/ --out .`) takes
    every photo. out_dir equal to an input folder is refused: the outputs would take the
    originals' names.
    """
    suffixes, out_dir, found = photos.readable_suffixes(), out_dir.resolve(), []
    for path in map(Path, paths):
        if not path.is_dir():
            found.append((path, Path(path.name)))
            continue
        folder = path.resolve()
        if out_dir == folder:
            raise SystemExit(f"refusing to write into the input folder {path}: the colorized "
                             f"photos would replace the originals; choose another --out")
        out_inside = out_dir.is_relative_to(folder)
        for file in photos.list_photos(path, suffixes):
            earlier_output = out_inside and file.resolve().is_relative_to(out_dir)
            if file.is_file() and file.suffix.lower() in suffixes and not earlier_output:
                found.append((file, file.relative_to(path)))
    return found


def output_format(source, requested):
    """--format if given, else the input's own format when it can hold an RGB(A) photo, else PNG."""
    if requested:
        return FORMATS[requested]
    kept = Image.registered_extensions().get(source.suffix.lower())
    return kept if kept in KEPT_FORMATS else "PNG"


def plan_outputs(inputs, out_dir, requested_format, side_by_side):
    """[(input, output, pair output or None, format)], refusing any plan that would write over an
    input or write two photos to one path, before any work is done."""
    plan, written = [], {}
    sources = {source.resolve(): source for source, _ in inputs}
    for source, relative in inputs:
        image_format = output_format(source, requested_format)
        same_format = Image.registered_extensions().get(source.suffix.lower()) == image_format
        suffix = source.suffix if same_format else SUFFIXES[image_format]
        output = out_dir / relative.with_suffix(suffix)
        pair = output.with_name(f"{output.stem}-side-by-side{suffix}") if side_by_side else None
        for target in filter(None, (output, pair)):
            resolved = target.resolve()
            if resolved in sources:
                raise SystemExit(f"refusing to write {target}: it is the input "
                                 f"{sources[resolved]}; choose another --out")
            if resolved in written:
                raise SystemExit(f"{written[resolved]} and {source} would both be written to "
                                 f"{target}; colorize them into different --out folders")
            written[resolved] = source
        plan.append((source, output, pair, image_format))
    return plan


def save_atomic(image, path, image_format, exif=None):
    """Write through files.atomic_path: a killed run never leaves half a photo."""
    if image_format == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")  # JPEG has no alpha; ask for --format png to keep it
    options = dict(SAVE_OPTIONS[image_format])
    if exif and image_format in EXIF_FORMATS:
        options["exif"] = exif
    with files.atomic_path(path) as temporary:
        image.save(temporary, format=image_format, **options)


def side_by_side_pair(photo, colorized):
    pair = Image.new("RGB", (photo.width * 2, photo.height))
    pair.paste(photo_as_rgb(photo), (0, 0))
    pair.paste(colorized.convert("RGB"), (photo.width, 0))
    return pair


def colorize_file(network, source, output, pair, image_format, render_size, stride,
                  saturation):
    photo = read_photo(source)
    colorized = colorize_image(network, photo, render_size, stride, saturation)
    exif = photo.info.get("exif")
    save_atomic(colorized, output, image_format, exif)
    if pair is not None:
        save_atomic(side_by_side_pair(photo, colorized), pair, image_format, exif)


# ---------------------------------------------------------------- command line

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("inputs", nargs="+", help="photos and folders (walked recursively)")
    parser.add_argument("--model", default=None,
                        help="a model.keras, or a run folder holding one (default: "
                             f"{DEFAULT_MODEL}, the colorizer `make model` trains, or --light's)")
    parser.add_argument("--light", choices=sorted(LIGHT_MODELS), default="any",
                        help="the light the photos were taken in, when you know it: 'sunset' "
                             "(the sky itself glowing warm, at sunset or sunrise) colorizes "
                             f"with {LIGHT_MODELS['sunset'][0]} (`{LIGHT_MODELS['sunset'][1]}`), "
                             "which paints such skies gold (in gray a golden sky and a blue "
                             "one look alike), and a blue sky above a warm horizon gold too "
                             "(default: any)")
    parser.add_argument("--out", default="colorized",
                        help="output folder; folders given as inputs are mirrored inside it "
                             "(default: colorized)")
    parser.add_argument("--render-size", type=int, default=None,
                        help="shorter side, in pixels, at which the network sees a photo "
                             "(default: the model's training size from its config.json, "
                             f"else {DEFAULT_RENDER_SIZE})")
    parser.add_argument("--format", choices=sorted(FORMATS), default=None,
                        help="output format (default: the input's own, PNG for ones that cannot "
                             "hold a colour photo)")
    parser.add_argument("--saturation", type=cli.positive, default=1.0,
                        help="multiply the predicted colour's chroma by this: above 1 paints "
                             "more boldly than the model's most accurate estimate, below 1 more "
                             "timidly (default: 1)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="also write <name>-side-by-side: the input and its colorized version")
    args = parser.parse_args(argv)
    if args.render_size is not None and args.render_size < 1:
        parser.error("--render-size must be a positive number of pixels")
    if args.model is not None and args.light != "any":
        parser.error("--light chooses the default model; with --model, leave it out")
    return args


def main(argv=None):
    args = parse_args(argv)
    model_path = resolve_model_path(args.model or LIGHT_MODELS[args.light][0], args.light)
    image_size, stride = read_model_config(model_path)
    render_size = args.render_size or image_size
    out_dir = Path(args.out)
    refusal = files.not_a_folder("--out", out_dir, "a folder for the colorized photos")
    if refusal:  # before the model loads, not once per photo
        raise SystemExit(refusal)
    inputs = collect_inputs(args.inputs, out_dir)
    if not inputs:
        raise SystemExit(f"no photos found in {' '.join(args.inputs)}")
    plan = plan_outputs(inputs, out_dir, args.format, args.side_by_side)
    network = ShapeTracedModel(load_model(model_path))

    failures = []
    for source, output, pair, image_format in tqdm(plan, desc="colorizing", unit="photo",
                                                   disable=len(plan) < 2, file=sys.stderr):
        try:
            colorize_file(network, source, output, pair, image_format, render_size, stride,
                          args.saturation)
        except Exception as error:  # one bad photo must not stop the others
            failures.append(source)
            tqdm.write(f"skipped {source}: {error}", file=sys.stderr)

    done = len(plan) - len(failures)
    print(f"colorized {done} of {len(plan)} photos into {out_dir}/"
          + (f"; {len(failures)} failed: {', '.join(map(str, failures))}" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
