"""Procedural, photo-like mountain landscapes: the built-in data set.

A colorization model can only learn what the data makes it need: if colour were a function of
lightness, a lookup table would do. So the scenes vary the things that decouple ab from L in
photos: sky and weather (clear, hazy, overcast, sunset), aerial perspective that pulls far ridges
toward the horizon colour, snow, rock, forest and meadow at the same lightness, lakes that mirror
the scene and the sky, and per-scene jitter of every hue. Colours stay muted, as in real photos:
a model should learn that a confident wrong colour costs more than a pale one.

Colour also follows texture, so every material has its own at the pixel scale, as photos show
them at 128 px: needles and leaves (dark speckle) on forest, meadow and the foreground conifers
and bushes, grain on rock and snow, glints on water. Without them a model trained here left real
pines and meadows gray; with foliage but no grain it painted every textured surface green.

    python mountains.py --contact-sheet images/landscapes.png --count 32 --size 128 --seed 0

Everything is vectorised numpy and deterministic from the seed (an int or a tuple of ints).
Rendering happens at twice the size in linear light and is then box-downsampled (anti-aliasing),
tone-mapped to sRGB, slightly blurred and given light sensor noise.
"""

import argparse
import ast
import functools
import hashlib
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import cli
import files

# The generator's name for people (dataset.py records it with rendering_sha256): raise it by
# hand when the look of the landscapes changes on purpose. The hash decides, the number explains.
GENERATOR_VERSION = 10  # 2: foliage, conifers, bushes, zoom; 3: grain; 4: lakes mirror the sky;
# 5: cast shadows (a share, off by default); 6: skies brightest overhead (a share, off by default);
# 7: finer texture per pixel (fine, off by default); 8: sunsets at twilight (a share, off by
# default; make model sets it); 9: alpenglow (a share, off by default); 10: dry patches in green
# meadows (patchy, a share, off by default)
NOT_RENDERING = ("without_docstring", "is_rendering", "rendering_code_sha256", "rendering_sha256",
                 "generator_fingerprint", "scene_of", "contact_sheet", "save_png", "SHARES",
                 "SHARE_DEFAULTS",
                 "add_share_arguments", "parse_args", "main")
# render_landscape's share options, the one list that this file's and dataset.py's command
# lines offer (with --sunsets, add_share_arguments): what a share of 1 gives every landscape it can
SHARES = {"boulders": "landscapes with rocks in front of the camera",
          "golden": "sunsets whose whole sky glows warm, no blue left overhead",
          "shadows": "sunlit landscapes with part of the land in a cast shadow, lit by the sky "
                     "alone",
          "overhead": "clear and hazy skies brightest at the top of the frame and pale blue "
                      "there, as toward a high sun",
          "twilight": "sunsets with the land lit far more dimly than the sky above it",
          "alpenglow": "clear skies with the sun low behind the camera, the land lit warm under "
                       "a blue sky",
          "patchy": "summer and spring scenes whose meadows have dried to yellow-brown in "
                    "patches"}

SKIES = ("clear", "hazy", "overcast", "sunset")
# The skies each share can change, in the order of their random streams (render_landscape)
SHARE_SKIES = {"boulders": SKIES, "golden": ("sunset",), "shadows": ("clear", "hazy", "sunset"),
               "overhead": ("clear", "hazy"), "twilight": ("sunset",),
               "alpenglow": ("clear",), "patchy": SKIES}
SKY_WEIGHTS = (0.5, 0.15, 0.17, 0.18)  # web photos of mountains are mostly fair-weather
SUNSETS = SKY_WEIGHTS[SKIES.index("sunset")]  # render_landscape's share of sunset skies
# render_landscape's share options and their defaults: what the command lines offer
SHARE_DEFAULTS = {**dict.fromkeys(SHARES, 0.0), "sunsets": SUNSETS}
SEASONS = ("summer", "dry", "autumn", "spring")
SEASON_WEIGHTS = (0.5, 0.2, 0.12, 0.18)
GREEN_SEASONS = ("summer", "spring")  # the seasons whose meadows a patchy share dries in places
RENDER_SCALE = 2  # render at this multiple of the output size, then box-downsample
FOREGROUNDS = ("none", "conifers", "bushes")  # what stands close in front of the camera
FOREGROUND_WEIGHTS = (0.5, 0.3, 0.2)

# Linear-light albedos and sky colours; every draw is jittered per scene.
SKY_PALETTES = {  # zenith, horizon
    "clear": ((0.05, 0.16, 0.45), (0.52, 0.65, 0.82)),
    "hazy": ((0.18, 0.30, 0.52), (0.72, 0.76, 0.80)),
    "overcast": ((0.36, 0.38, 0.42), (0.64, 0.65, 0.68)),
    "sunset": ((0.10, 0.15, 0.30), (1.05, 0.58, 0.28)),
}
ROCKS = ((0.20, 0.19, 0.18), (0.22, 0.19, 0.15), (0.16, 0.15, 0.15), (0.24, 0.18, 0.13),
         (0.12, 0.11, 0.10))
SNOW = (0.80, 0.83, 0.88)
VEGETATION = {  # forest, meadow
    "summer": ((0.035, 0.060, 0.020), (0.13, 0.17, 0.03)),
    "spring": ((0.045, 0.075, 0.025), (0.14, 0.22, 0.04)),
    "dry": ((0.05, 0.06, 0.03), (0.26, 0.21, 0.11)),
    "autumn": ((0.10, 0.06, 0.025), (0.20, 0.15, 0.06)),
}
WATERS = ((0.02, 0.05, 0.09), (0.02, 0.08, 0.09), (0.03, 0.13, 0.14))  # deep, teal, glacial
BOULDERS = ((0.42, 0.40, 0.37), (0.45, 0.38, 0.29), (0.30, 0.29, 0.28), (0.36, 0.31, 0.26),
            (0.20, 0.19, 0.18))  # granite, sandstone, gray, weathered, dark


@dataclass
class Scene:
    """The random choices that make one landscape; tests check their variety."""

    sky: str
    season: str
    sun_elevation: float  # degrees above the horizon
    sun_azimuth: float  # degrees; 0 = behind the camera, +-90 = from the right/left
    sun_visible: bool
    cloud_cover: float  # 0..1
    horizon: float  # row of the farthest ridge's base, as a fraction of the height
    ridges: int
    haze: float  # extinction per unit distance (Koschmieder beta)
    snow_line: float  # altitude fraction of a ridge above which snow lies; > 1: no snow
    tree_line: float  # altitude fraction below which forest and meadow grow
    lake: bool
    lake_level: float  # row of the shore line as a fraction of the height
    foreground: str = "none"  # one of FOREGROUNDS

    @property
    def has_snow(self):
        return self.snow_line < 0.9


def sky_weights(sunsets=SUNSETS):
    """SKY_WEIGHTS with sunset skies at the share `sunsets` and the other skies scaled to fill
    the rest, in their proportions. A colorizer for photos taken in low, warm light
    (colorize.py --light sunset) learns on landscapes mostly lit so, while every draw after the
    sky's stays the same (numpy's Generator.choice takes one uniform number whatever the
    weights): a landscape whose sky is unchanged is unchanged."""
    if sunsets == SUNSETS:
        return SKY_WEIGHTS
    index = SKIES.index("sunset")
    rest = (1 - sunsets) / (1 - SUNSETS)
    return tuple(sunsets if i == index else weight * rest for i, weight in enumerate(SKY_WEIGHTS))


def sample_scene(rng, sunsets=SUNSETS):
    """Draw the scene parameters: weather first, because it sets light, haze and snow odds."""
    sky = SKIES[rng.choice(len(SKIES), p=sky_weights(sunsets))]
    season = SEASONS[rng.choice(len(SEASONS), p=SEASON_WEIGHTS)]
    if sky == "sunset":
        elevation = rng.uniform(-2.0, 8.0)
    else:
        elevation = rng.uniform(12.0, 60.0)
    azimuth = rng.uniform(-160.0, 160.0)
    sun_visible = sky in ("clear", "hazy", "sunset") and abs(azimuth) > 120 and rng.random() < 0.7
    cloud_cover = {"clear": rng.uniform(0.0, 0.45), "hazy": rng.uniform(0.0, 0.35),
                   "overcast": rng.uniform(0.6, 1.0), "sunset": rng.uniform(0.1, 0.7)}[sky]
    haze = {"clear": rng.uniform(0.1, 0.45), "hazy": rng.uniform(0.45, 1.1),
            "overcast": rng.uniform(0.3, 0.8), "sunset": rng.uniform(0.2, 0.7)}[sky]
    snowy = rng.random() < (0.3 if season == "dry" else 0.6)
    snow_line = rng.uniform(0.25, 0.8) if snowy else 2.0
    tree_line = rng.uniform(0.2, 0.85) if season != "dry" else rng.uniform(0.05, 0.4)
    lake = rng.random() < 0.3
    horizon = rng.uniform(0.35, 0.68)
    foreground = FOREGROUNDS[rng.choice(len(FOREGROUNDS), p=FOREGROUND_WEIGHTS)]
    return Scene(foreground=foreground, sky=sky, season=season, sun_elevation=float(elevation),
                 sun_azimuth=float(azimuth), sun_visible=bool(sun_visible),
                 cloud_cover=float(cloud_cover), horizon=float(horizon),
                 ridges=int(rng.integers(2, 5)), haze=float(haze), snow_line=float(snow_line),
                 tree_line=float(tree_line), lake=bool(lake),
                 lake_level=float(rng.uniform(horizon + 0.08, min(horizon + 0.3, 0.88))))


def scene_of(seed, sunsets=SUNSETS):
    """The Scene that render_landscape(seed, sunsets=sunsets, ...) draws, without rendering it:
    its first draws.

    Tools that ask what a landscape shows (tools/sky_probe.py: its sky kind) read it here, so
    that a dataset need not store what its seeds already determine.
    """
    return sample_scene(np.random.default_rng(seed), sunsets)


# --------------------------------------------------------------------------- noise


def interpolation_taps(rng, cells, n):
    """Left node index and smoothstep weight of n samples across a random grid of `cells` cells.

    The random phase keeps octaves from sharing grid lines. Gathers and blends instead of
    matrix products: BLAS threads oversubscribe a busy machine or a process pool.
    """
    pos = rng.uniform(0.0, 1.0) + np.arange(n) * (cells / n)
    i0 = pos.astype(np.int64)
    f = (pos - i0).astype(np.float32)
    return i0, f * f * (3.0 - 2.0 * f)


def value_noise(rng, shape, cells_y, cells_x):
    """Smooth random field in [0, 1] with the given number of cells along each axis."""
    grid = rng.random((cells_y + 2, cells_x + 2), dtype=np.float32)
    iy, sy = interpolation_taps(rng, cells_y, shape[0])
    ix, sx = interpolation_taps(rng, cells_x, shape[1])
    across = grid[:, ix] + (grid[:, ix + 1] - grid[:, ix]) * sx
    top = across[iy]
    return top + (across[iy + 1] - top) * sy[:, None]


def fbm(rng, shape, cells=(2, 2), octaves=5, gain=0.5, ridged=False):
    """Fractal Brownian motion in [0, 1]; ridged octaves (1 - |n|)^2 give sharp crests."""
    h, w = shape
    total = np.zeros(shape, np.float32)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        noise = value_noise(rng, shape, min(cells[0] << o, h), min(cells[1] << o, w))
        if ridged:
            noise = (1.0 - np.abs(2.0 * noise - 1.0)) ** 2
        total += amp * noise
        norm += amp
        amp *= gain
    return total / norm


def profile(rng, n, cells=3, octaves=7, gain=0.5):
    """A 1-D fractal line in [0, 1]; linear interpolation of random nodes gives crisp peaks."""
    x = np.arange(n) / n
    total = np.zeros(n, np.float32)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        c = cells << o
        nodes = rng.random(c + 2)
        total += amp * np.interp(rng.uniform() + x * c, np.arange(c + 2), nodes)
        norm += amp
        amp *= gain
    total /= norm
    return (total - total.min()) / max(total.max() - total.min(), 1e-6)


def smoothstep(lo, hi, x):
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def jitter(rng, colour, hue=0.08, value=0.15):
    """Colour with per-channel and overall random gain, so that no material is a constant."""
    colour = np.asarray(colour, np.float32)
    return colour * np.exp(rng.normal(0.0, hue, 3) + rng.normal(0.0, value)).astype(np.float32)


def smooth_1d(values, width):
    width = max(int(width), 1)
    kernel = np.ones(width) / width
    padded = np.pad(values, width, mode="edge")
    return np.convolve(padded, kernel, mode="same")[width:-width]


# --------------------------------------------------------------------------- lighting


@dataclass
class Light:
    direction: np.ndarray  # unit vector (x right, y up, z toward the camera)
    sun: np.ndarray  # linear RGB of direct sunlight
    ambient: np.ndarray  # linear RGB of sky light
    zenith: np.ndarray
    horizon: np.ndarray
    shade: np.ndarray = None  # render-size (h, w), 1 where a cast shadow hides the sun; or None


def sunlit(light, top, bottom=None, step=1):
    """The share of direct sun that reaches rows top..bottom of the frame (1 outside cast
    shadows), counted in every `step`-th render-size pixel: ridges are shaded at the output size."""
    if light.shade is None:
        return 1.0
    end = None if bottom is None else bottom * step
    return 1.0 - light.shade[top * step:end:step, ::step]


def make_light(scene, rng):
    """Sun and sky colours: low sun is warm and weak, overcast light is diffuse and gray."""
    el, az = np.radians(scene.sun_elevation), np.radians(scene.sun_azimuth)
    direction = np.array([np.cos(el) * np.sin(az), np.sin(max(el, 0.02)),
                          np.cos(el) * np.cos(az)], np.float32)
    zenith, horizon = (jitter(rng, c, 0.06, 0.12) for c in SKY_PALETTES[scene.sky])
    warmth = smoothstep(25.0, -2.0, scene.sun_elevation)  # 0 at noon, 1 at sunset
    sun = np.array([1.0, 0.92, 0.78]) * (1 - warmth) + np.array([1.0, 0.55, 0.25]) * warmth
    sun = jitter(rng, sun, 0.04, 0.1) * {"clear": 1.6, "hazy": 1.2, "overcast": 0.25,
                                          "sunset": 1.1}[scene.sky]
    ambient = 0.22 * zenith + 0.1 * horizon
    if scene.sky == "overcast":
        ambient = 0.7 * horizon
    return Light(direction / np.linalg.norm(direction), sun.astype(np.float32),
                 ambient.astype(np.float32), zenith, horizon)


def golden_light(light, rng):
    """A sunset seen through haze or smoke: the whole sky glows, warm from zenith to horizon.

    Golden-hour photos often have no blue left overhead; a generator whose sunsets all keep
    a blue zenith teaches that a smooth sky above dark ridges is blue.
    """
    warm = light.horizon * rng.uniform(0.35, 0.7) * np.array([1.0, rng.uniform(0.7, 1.0),
                                                               rng.uniform(0.5, 0.9)], np.float32)
    mix = rng.uniform(0.6, 1.0)
    zenith = (light.zenith * (1 - mix) + warm * mix).astype(np.float32)
    ambient = (0.22 * zenith + 0.1 * light.horizon).astype(np.float32)
    return Light(light.direction, light.sun, ambient, zenith, light.horizon)


def bright_overhead(light, rng):
    """A clear or hazy sky brightest at the top of the frame and still blue there.

    Looking toward a high sun, or under thin high haze, a sky is often brighter overhead than
    above the ridges; in many photos the top of the frame is a bright, pale blue. Without such
    skies every bright, smooth sky region the generator draws is haze or cloud, and a network
    learns to paint it white. The zenith keeps its hue, raised above the horizon's brightness
    and paled toward it by a random amount; the light on the land stays as it was. Measured
    (README, overhead-decay-distance): networks trained with it paint white clouds and snow as
    blue as the skies, and score lower on photos; it stays off by default.
    """
    brightness = float(np.mean(light.horizon)) * rng.uniform(1.0, 1.5)
    deep = light.zenith * (brightness / float(np.mean(light.zenith)))
    pale = light.horizon * (brightness / float(np.mean(light.horizon)))
    mix = rng.uniform(0.2, 0.8)
    return replace(light, zenith=(deep * (1 - mix) + pale * mix).astype(np.float32))


def twilight_land(light, rng):
    """The light on the land of a sunset seen at twilight: far dimmer than the sky above it.

    The low sun reaches the land through a long path of air and the sky darkens overhead, while
    the glow above the horizon stays bright: a camera exposed for the sky shows dark land under a
    bright sky. The generator's own sunsets light the land nearly as a clear day does, so that
    in gray they look like day and a network cannot tell them. Only the land's light changes;
    the sky is drawn before. Measured (README, twilight-decay-distance-views): networks trained
    with it tell the landscapes' sunsets and score on photos as before, whose sunsets they
    still paint blue; make model renders its landscapes with it.
    """
    return replace(light, sun=(light.sun * rng.uniform(0.1, 0.4)).astype(np.float32),
                   ambient=(light.ambient * rng.uniform(0.2, 0.6)).astype(np.float32))


def alpenglow_sun(scene, rng):
    """A clear sky with the sun just above the horizon behind the camera: alpenglow.

    At sunrise and sunset the slopes that face the sun glow orange and pink while the sky above
    them stays blue. The generator's clear skies have a high sun, and its sunsets a warm sky
    (at twilight, dim land): no landscape showed warm-lit land under a blue sky, and networks
    painted such land in photos green or blue. Only the sun moves, low (0 to 6 degrees, so
    make_light warms it) and behind the camera (within 70 degrees), so that the faces seen
    catch its light; the sky keeps its blue. Measured (README, ensemble-alpenglow-twilight-views):
    networks trained with it score on photos as before, better on warm-lit photos and as much
    worse on green ones; it stays off by default.
    """
    return replace(scene, sun_elevation=float(rng.uniform(0.0, 6.0)),
                   sun_azimuth=float(rng.uniform(-70.0, 70.0)), sun_visible=False)


def cast_shadow(scene, rng, size):
    """Where a mountain out of the frame hides the sun: below a ragged, slanting edge.

    In photos, valleys and near slopes often lie in shadow while the peaks are lit, and the
    shadowed land is lit by the sky alone: dark and bluish, snow blue, rock slate. A generator
    without cast shadows has only forest to be dark, and teaches that dark land is green.
    Returns the render-size shadow (size, size) in [0, 1] with a soft penumbra.
    """
    horizon = scene.horizon
    left, right = rng.uniform(horizon - 0.1, 1.0, 2)
    cols = np.arange(size, dtype=np.float32) / size
    ragged = profile(rng, size, cells=int(rng.integers(2, 6)), octaves=6) - 0.5
    edge = (left + (right - left) * cols + rng.uniform(0.05, 0.2) * ragged) * size
    rows = np.arange(size, dtype=np.float32)[:, None]
    penumbra = rng.uniform(0.5, 3.0) * RENDER_SCALE
    return np.clip((rows - edge[None, :]) / penumbra + 0.5, 0.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------- sky


def render_sky(scene, light, rng, h, w, horizon_row):
    """Zenith-to-horizon gradient, sun glow and fBm clouds lit from the sun's side."""
    rows = np.arange(h, dtype=np.float32)[:, None] / max(horizon_row, 1.0)
    t = np.clip(rows, 0.0, 1.0) ** rng.uniform(0.6, 1.6)
    sky = light.zenith * (1 - t[..., None]) + light.horizon * t[..., None]
    sky = np.broadcast_to(sky, (h, w, 3)).copy()

    sun_x = 0.5 - 0.5 * np.sin(np.radians(scene.sun_azimuth)) * rng.uniform(0.6, 1.0)
    sun_y = horizon_row / h - np.sin(np.radians(max(scene.sun_elevation, 0.0))) * 1.2
    yy = np.arange(h, dtype=np.float32)[:, None] / h
    xx = np.arange(w, dtype=np.float32)[None, :] / w
    dist = np.hypot(xx - sun_x, (yy - sun_y) * 1.3)
    facing = 0.5 + 0.5 * np.cos(np.radians(scene.sun_azimuth - 180.0))
    glow_strength = {"clear": 0.25, "hazy": 0.5, "overcast": 0.05, "sunset": 0.9}[scene.sky]
    glow = glow_strength * facing * np.exp(-dist / rng.uniform(0.15, 0.35))
    sky += glow[..., None] * light.sun
    if scene.sun_visible:
        disk = smoothstep(0.035, 0.02, dist) * (0.3 if scene.sky == "hazy" else 1.0)
        sky += disk[..., None] * light.sun * 3.0

    if scene.cloud_cover > 0.02:
        stretch = rng.uniform(1.0, 3.0)
        density = fbm(rng, (h, w), cells=(max(int(3 * stretch), 2), 2), octaves=6, gain=0.55)
        threshold = np.quantile(density, 1.0 - scene.cloud_cover)
        cover = smoothstep(threshold - 0.02, threshold + rng.uniform(0.04, 0.12), density)
        cover *= smoothstep(1.02, 0.6, rows)  # thin out toward the horizon
        lit = np.clip((density - np.roll(density, max(h // 40, 1), axis=0)) * 12 + 0.5, 0, 1)
        if scene.sky == "overcast":
            bright, dark = light.horizon * 1.1, light.horizon * 0.55
        else:
            bright = 0.4 * light.sun + 0.6 * light.horizon
            dark = 0.7 * light.horizon * np.array([0.85, 0.88, 0.95], np.float32)
            if scene.sky == "sunset":
                dark = 0.5 * light.zenith + 0.2 * light.sun
        cloud = dark + (bright - dark) * lit[..., None]
        sky = sky * (1 - cover[..., None]) + cloud * cover[..., None]
    return sky


# --------------------------------------------------------------------------- terrain


@dataclass
class Fields:
    """Shared full-frame noise, sliced and mirrored per ridge, so each ridge costs little."""

    gullies: np.ndarray  # ridged, stretched vertically: erosion channels
    detail: np.ndarray  # fine texture of rock
    trees: np.ndarray  # crowns and gaps of forest
    foliage: np.ndarray  # leaves and needles: pixel-scale light and shadow of vegetation
    grain: np.ndarray  # scree, cracks and crust: pixel-scale texture of rock and snow
    patches: np.ndarray  # which material where: forest vs meadow, snow patches
    bumps: np.ndarray  # mid-scale relief


def cells_in(rows, h, per_frame):
    """Noise cells along `rows` of an h-row frame that keep the feature size of `per_frame` cells
    over the full frame."""
    return max(int(round(per_frame * rows / h)), 1)


def make_fields(rng, rows, h, w):
    """Noise for the lowest `rows` rows of an (h, w) frame: the sky above needs none."""
    shape = (rows, w)
    cells = functools.partial(cells_in, rows, h)
    return Fields(gullies=fbm(rng, shape, cells=(cells(5), 7), octaves=3, gain=0.5, ridged=True),
                  detail=fbm(rng, shape, cells=(cells(24), 24), octaves=2, gain=0.6),
                  trees=value_noise(rng, shape, cells(min(h // 3, 64)), min(w // 3, 64)),
                  foliage=value_noise(rng, shape, cells(h // 2), w // 2),
                  grain=value_noise(rng, shape, cells(int(h / 1.5)), int(w / 1.5)),
                  patches=fbm(rng, shape, cells=(cells(3), 4), octaves=4, gain=0.55),
                  bumps=fbm(rng, shape, cells=(cells(4), 6), octaves=3, gain=0.5))


def oriented(field, band, orientation):
    """Rows `band` of a shared field, mirrored one of four ways so ridges do not repeat it.

    Mirroring is a free view and, unlike a roll, leaves no seam whose gradient would shade.
    """
    if orientation & 2:
        field = field[::-1]
    return field[band, ::-1] if orientation & 1 else field[band]


def ridge_lines(scene, rng, h, w):
    """Crest rows of each ridge, far to near, and the row of each ridge's base."""
    horizon = scene.horizon * h
    crests, bases, distances = [], [], []
    for k in range(scene.ridges):
        near = k / max(scene.ridges - 1, 1)  # 0 far .. 1 near
        base = horizon + (h * 1.05 - horizon) * near ** 1.4
        if k == 0:
            height = rng.uniform(0.12, 0.45) * h
        else:
            height = rng.uniform(0.06, 0.25) * h * (1.0 - 0.4 * near) + (base - horizon) * 0.7
        shape = profile(rng, w, cells=int(rng.integers(2, 5)), octaves=7,
                        gain=rng.uniform(0.42, 0.58))
        shape = shape ** rng.uniform(1.0, 1.8)  # sharper peaks, wider valleys
        crest = base - height * (0.25 + 0.75 * shape)
        if k == scene.ridges - 1 and scene.season != "dry" and rng.random() < 0.6:
            crest -= profile(rng, w, cells=w // 6, octaves=2) * h * 0.02  # tree crowns
        crests.append(crest.astype(np.float32))
        bases.append(base)
        distances.append(1.0 - 0.9 * near)
    return crests, bases, distances


def shade_ridge(rows, band, crest, base, fields, light, orientation, rng):
    """Lambert hillshade of a ridge: the crest's slope sets the faces, gullies add relief."""
    w = crest.shape[0]
    height = max(base - crest.min(), 1.0)
    depth = np.clip((rows[:, None] - crest[None, :]) / height, 0.0, None)  # 0 at the crest
    slope_near = np.gradient(smooth_1d(crest, w / 20)) * (w / height) * 0.3
    slope_far = np.gradient(smooth_1d(crest, w / 6)) * (w / height) * 0.3
    mix = np.clip(depth * 2.0, 0.0, 1.0)
    gullies = oriented(fields.gullies, band, orientation)
    bumps = oriented(fields.bumps, band, orientation)
    # the crest's faces continue downhill, fading into the relief below
    slope = (slope_near[None, :] * (1 - mix) + slope_far[None, :] * mix) * (1.4 - bumps - 0.5 * mix)
    relief = gullies * rng.uniform(0.15, 0.5) + bumps * 1.5
    gx = np.gradient(relief, axis=1) * (w * 0.02)
    gy = np.gradient(relief, axis=0) * (w * 0.02)
    nx = slope + gx  # crest rising to the right: face turned left
    ny = 0.7 - gy - 0.3 * np.minimum(depth, 1.0)
    norm = np.sqrt(nx * nx + ny * ny + 1.0)
    d = light.direction
    lambert = np.clip((nx * d[0] + ny * d[1] + d[2]) / norm, 0.0, 1.0)
    steep = np.clip(np.abs(nx) / norm * 1.3, 0.0, 1.0)
    return lambert, steep


def material_weights(scene, rows, band, crest, base, near, steep, fields, orientation, palette):
    """Per-pixel weights of rock, forest, meadow and snow (band, w, 4), textures folded in.

    Snow lies high and on gentle slopes, rock shows on steep ones, forest and meadow grow below
    a noisy tree line. Keeping materials as weights lets one matrix product colour them.
    """
    altitude = np.clip((base - rows[:, None]) / max(base - crest.min(), 1.0), 0.0, 1.0)
    detail = oriented(fields.detail, band, orientation)
    patches = oriented(fields.patches, band, orientation)
    strata = 0.9 + 0.1 * np.sin((rows[:, None] + 20 * patches) * palette["strata"])
    grain = oriented(fields.grain, band, orientation)
    rock_texture = (0.6 + 0.8 * detail) * strata * (1.0 + palette["grain"] * (grain - 0.5))

    tree_line = scene.tree_line + 0.6 * near  # near ridges are lower hills: greener
    vegetation = smoothstep(tree_line + 0.1, tree_line - 0.1,
                            altitude + 0.3 * (patches - 0.5)) * (1 - 0.7 * steep)
    forest = smoothstep(0.45, 0.6, patches + 0.25 * (altitude - 0.3) + palette["forest_bias"])
    weights = np.empty(rows.shape + crest.shape + (4,), np.float32)
    trees = oriented(fields.trees, band, orientation)
    foliage = oriented(fields.foliage, band, orientation)
    weights[..., 1] = vegetation * forest * (0.2 + 2.0 * trees * trees) * (0.6 + 0.8 * detail) \
        * (0.3 + 1.4 * foliage)
    weights[..., 2] = vegetation * (1 - forest) * (0.8 + 0.4 * detail) * (0.75 + 0.5 * foliage)
    weights[..., 0] = (1 - vegetation) * rock_texture
    if scene.has_snow:
        streaks = oriented(fields.gullies, band, orientation)
        snow_line = scene.snow_line + 0.8 * near  # near ridges are lower: less snow
        snow = smoothstep(snow_line - 0.04, snow_line + 0.04,
                          altitude + 0.3 * (patches - 0.5) + 0.35 * (streaks - 0.4)
                          + 0.15 * (detail - 0.5))
        snow *= smoothstep(0.95, 0.55, steep + 0.4 * (detail - 0.5))
        weights[..., :3] *= (1 - snow)[..., None]
        weights[..., 3] = snow * (0.94 + 0.12 * grain)
    else:
        weights[..., 3] = 0.0
    return weights


def dry_patches(scene, rng, shape, cells_y):
    """Where a green meadow has dried (a mask over the noise fields' rows) and to what colour.

    A season is drawn per scene, so without this a landscape is all green or all yellow, while
    photos mix them in one frame: dry grass beside green, sunlit bare ground among meadows.
    None for scenes that are not green already. Measured (README, ensemble-patchy-twilight-views):
    the networks paint less green everywhere, yellow-brown photo pixels about as often green.
    """
    if scene.season not in GREEN_SEASONS:
        return None
    field = fbm(rng, shape, cells=(cells_y, 4), octaves=4, gain=0.55)
    level = rng.uniform(0.4, 0.6)  # fBm gathers around 0.5: a little to most of the meadow dries
    mask = smoothstep(level - 0.04, level + 0.04, field).astype(np.float32)
    dry, autumn = (np.asarray(VEGETATION[season][1], np.float32) for season in ("dry", "autumn"))
    return mask, jitter(rng, dry + rng.uniform(0.0, 1.0) * (autumn - dry), 0.1, 0.2)


def scene_palette(scene, rng):
    forest, meadow = VEGETATION[scene.season]
    rock = ROCKS[rng.integers(len(ROCKS))]
    return {"albedo": np.stack([jitter(rng, rock, 0.06, 0.2), jitter(rng, forest, 0.1, 0.2),
                                jitter(rng, meadow, 0.1, 0.2), jitter(rng, SNOW, 0.02, 0.05)]),
            "strata": rng.uniform(0.05, 0.4), "forest_bias": rng.uniform(-0.2, 0.2),
            "grain": rng.uniform(0.3, 1.0)}  # how rough the rock looks up close


def palette_near(palette, rng):
    """Nearer ridges share the scene's materials with a small drift."""
    drift = np.exp(rng.normal(0.0, 0.04, (4, 3)) + rng.normal(0.0, 0.08, (4, 1)))
    return dict(palette, albedo=(palette["albedo"] * drift).astype(np.float32))


def haze_colour_of(scene, light, rng):
    """The colour far ridges fade to: the horizon sky, less fiery than the sunset glow itself."""
    if scene.sky == "sunset":
        return (0.3 * light.horizon + 0.6 * light.zenith) * rng.uniform(0.8, 1.2)
    return light.horizon * rng.uniform(0.7, 0.9)


def render_ridges(scene, light, rng, image, patchy_rng=None):
    """Paint ridges far to near; each fades toward the horizon colour with its distance.

    Silhouettes are what aliases: the crest lines and their coverage use the render size.
    Shading and materials are computed at the output size and repeated, since the final box
    downsampling would average finer detail away anyway; that makes a ridge four times cheaper.
    """
    s = RENDER_SCALE
    big_h, big_w, _ = image.shape
    h, w = big_h // s, big_w // s
    fine_crests, fine_bases, distances = ridge_lines(scene, rng, big_h, big_w)
    if scene.lake:
        fine_crests, fine_bases, distances = above_water(
            fine_crests, fine_bases, distances, scene.lake_level * big_h, 0.03 * big_h)
    crests = [(c.reshape(w, s).mean(axis=1) - (s - 1) / 2) / s for c in fine_crests]
    bases = [b / s for b in fine_bases]
    top = int(max(np.floor((min(c.min() for c in fine_crests) - 0.5) / s), 0))
    fields = make_fields(rng, h - top, h, w)
    dry = None if patchy_rng is None else dry_patches(  # patches of a frame's third, as forests
        scene, patchy_rng, (h - top, w), cells_in(h - top, h, 3))
    haze_colour = haze_colour_of(scene, light, rng)
    fog_depth = rng.uniform(0.05, 0.3) * h
    misty = scene.sky in ("hazy", "overcast")
    fog_amount = rng.uniform(0.0, 0.3) if misty else rng.uniform(0.0, 0.1)
    palette = scene_palette(scene, rng)
    orientations = rng.permutation(4)
    # fBm values gather around 0.5: below this level a cloud shades the land
    shadow_cover = 0.0 if scene.sky == "overcast" else 0.3 + 0.4 * scene.cloud_cover
    for k, (crest, fine_crest, base, distance) in enumerate(
            zip(crests, fine_crests, bases, distances)):
        if k:
            palette = palette_near(palette, rng)
        # rows below `hidden` (render size) are covered by nearer ridges in every column
        hidden = min((c.max() for c in fine_crests[k + 1:]), default=big_h)
        r0 = int(max(np.floor((fine_crest.min() - 0.5) / s), 0))
        r1 = int(min(np.ceil((hidden + 0.5) / s) + 1, h))
        if r1 <= r0:
            continue
        rows = np.arange(r0, r1, dtype=np.float32)
        band = slice(r0 - top, r1 - top)  # the ridge's rows in the noise fields
        orientation = int(orientations[k % 4])
        lambert, steep = shade_ridge(rows, band, crest, base, fields, light, orientation, rng)
        lambert *= sunlit(light, r0, r1, s)
        if shadow_cover > 0.32:  # cloud shadows: the clouds' pattern, seen from another side
            lambert *= 0.25 + 0.75 * smoothstep(shadow_cover - 0.08, shadow_cover + 0.06,
                                                oriented(fields.patches, band, 3 - orientation))
        weights = material_weights(scene, rows, band, crest, base, 1.0 - distance, steep,
                                   fields, orientation, palette)
        albedo = (weights.reshape(-1, 4) @ palette["albedo"]).reshape(weights.shape[:2] + (3,))
        if dry is not None:  # part of the meadow's weight goes to the dry grass
            mask, dry_albedo = dry
            dried = weights[..., 2] * oriented(mask, band, orientation)
            albedo += dried[..., None] * (dry_albedo - palette["albedo"][2])
        transmission = np.exp(-scene.haze * distance)
        fog = fog_amount * distance * np.exp(-np.clip(base - rows, 0, None) / fog_depth)
        t = (transmission * (1 - fog)).astype(np.float32)[:, None, None]
        colour = lambert[..., None] * (light.sun * t)
        colour += light.ambient * t
        colour *= albedo
        colour += haze_colour * (1 - t)
        paint_ridge(image, np.repeat(np.repeat(colour, s, axis=0), s, axis=1), fine_crest, r0 * s)
    return image


def above_water(crests, bases, distances, shore, margin):
    """Drop the near ridges that stand mostly in the lake: their few peaks read as islands.

    The lake lies in front of the mountains, so a ridge stays only where most of it clears the
    water by `margin` rows; the farthest ridge always stays.
    """
    keep = [0] + [k for k in range(1, len(crests)) if np.mean(crests[k] < shore - margin) > 0.4]
    return [crests[k] for k in keep], [bases[k] for k in keep], [distances[k] for k in keep]


def paint_ridge(image, colour, crest, first_row):
    """Lay a ridge's colour over the image below its crest, anti-aliased along the crest."""
    last_row = first_row + colour.shape[0]
    rows = np.arange(first_row, last_row, dtype=np.float32)
    edge = int(np.clip(np.ceil(crest.max() + 0.5), first_row, last_row)) - first_row
    coverage = np.clip(rows[:edge, None] - crest[None, :] + 0.5, 0.0, 1.0)[..., None]
    image[first_row:first_row + edge] += (colour[:edge] - image[first_row:first_row + edge]) \
        * coverage
    image[first_row + edge:last_row] = colour[edge:]


def render_lake(scene, light, rng, image):
    """Below the shore line the scene mirrors itself, darkened, tinted and rippled.

    Mountain lakes are mostly seen from above, where the mirror weakens and the water's own deep
    blue, teal or glacial turquoise shows: a lake that only mirrored the slopes taught models
    to paint real lakes green.
    """
    h, w, _ = image.shape
    shore = int(scene.lake_level * h)
    rows = np.arange(shore, h)
    source = np.clip(2 * shore - rows, 0, h - 1)
    grazing = (rows - shore) / max(h - shore, 1)
    ripple_amp = (0.5 + rng.uniform(0.5, 4.0) * grazing) * (w / 256)
    phase = rng.uniform(0, 2 * np.pi)
    offsets = np.round(ripple_amp * np.sin(rows * rng.uniform(0.3, 1.2) + phase)).astype(int)
    cols = (np.arange(w)[None, :] + offsets[:, None]) % w
    mirror = image[source[:, None], cols]
    mirror = 0.5 * mirror + 0.25 * np.roll(mirror, 1, axis=0) + 0.25 * np.roll(mirror, -1, axis=0)
    wavelets = value_noise(rng, (h - shore, w), max(int((h - shore) / (1.5 * RENDER_SCALE)), 1),
                           max(int(w / (8 * RENDER_SCALE)), 1))  # short horizontal glints
    mirror = mirror * (1.0 + rng.uniform(0.2, 0.8) * (wavelets - 0.5))[..., None]
    # ripples tilt the water's surface toward the sky: part of every reflection is sky colour
    sky = light.zenith * rng.uniform(0.5, 1.0) + light.horizon * rng.uniform(0.0, 0.5)
    roughness = rng.uniform(0.1, 0.6) * (0.5 + wavelets)[..., None]
    mirror = mirror * (1.0 - roughness) + sky * roughness
    reflectance = (rng.uniform(0.3, 0.85) * (1 - 0.5 * grazing))[:, None, None]
    water = jitter(rng, WATERS[rng.integers(len(WATERS))], 0.1, 0.2)
    image[shore:] = mirror * reflectance + water * (1 - reflectance)
    return image


# --------------------------------------------------------------------------- foreground


def pixel_texture(rng, h, w, cell=2.0):
    """Fine value noise in [0, 1] whose cells are about `cell` pixels of this frame."""
    return value_noise(rng, (h, w), max(int(h / cell), 1), max(int(w / cell), 1))


def paint_foreground(image, top, lit, texture, coverage):
    """Lay a lit, textured plant over the rows from `top` down, blended by its coverage."""
    colour = lit * texture[..., None]
    image[top:] += (colour - image[top:]) * coverage[..., None]


def render_conifers(scene, light, rng, image):
    """Evergreen trees close to the camera: tiered, ragged cones, dark green in every season.

    Painted from the farthest (smallest) to the nearest; the side facing the sun is lit, the
    needles give a strong pixel-scale texture, and no haze reaches them.
    """
    h, w, _ = image.shape
    count = int(rng.integers(1, 7))
    albedo = jitter(rng, VEGETATION["summer"][0], 0.12, 0.25)
    texture = pixel_texture(rng, h, w, cell=RENDER_SCALE * 1.5)
    cols = np.arange(w, dtype=np.float32)[None, :]
    for height in np.sort(rng.uniform(0.2, 0.95, count)) * h:
        base = rng.uniform(0.9, 1.15) * h
        top = int(max(base - height, 0))
        width = height * rng.uniform(0.22, 0.4)
        x0 = rng.uniform(-0.1, 1.1) * w
        rows = np.arange(top, h, dtype=np.float32)[:, None]
        t = np.clip((rows - (base - height)) / height, 0.0, 1.0)  # 0 at the tip, 1 at the base
        tiers = rng.uniform(5.0, 12.0)
        tier = 0.55 + 0.45 * ((t * tiers) % 1.0)  # each tier of branches widens downward
        ragged = 1.0 + 0.35 * (texture[top:, :1] - 0.5)
        half = 0.5 * width * t * tier * ragged
        offset = cols - x0
        coverage = np.clip(half - np.abs(offset) + 0.5, 0.0, 1.0)
        side = np.clip(offset / np.maximum(half, 1.0), -1.0, 1.0)
        lambert = np.clip(0.45 + 0.55 * side * light.direction[0] + 0.3 * light.direction[1],
                          0.05, 1.0) * sunlit(light, top)
        paint_foreground(image, top, albedo * (lambert[..., None] * light.sun + light.ambient),
                         0.25 + 1.5 * texture[top:] ** 2, coverage)
    return image


def render_bushes(scene, light, rng, image):
    """Broadleaf shrubs and tree crowns along the bottom: clusters of lumpy, leafy blobs in
    the season's colours (green in summer, yellow to red in autumn)."""
    h, w, _ = image.shape
    forest, meadow = (np.asarray(c, np.float32) for c in VEGETATION[scene.season])
    texture = pixel_texture(rng, h, w, cell=RENDER_SCALE * 1.5)
    lumps = pixel_texture(rng, h, w, cell=h / 12)
    rows = np.arange(h, dtype=np.float32)[:, None]
    cols = np.arange(w, dtype=np.float32)[None, :]
    for _ in range(int(rng.integers(2, 9))):
        radius = rng.uniform(0.06, 0.25) * h
        cy, cx = rng.uniform(0.8, 1.1) * h, rng.uniform(0.0, 1.0) * w
        albedo = jitter(rng, 0.5 * (forest + meadow) * rng.uniform(0.8, 1.6), 0.12, 0.2)
        top = int(max(cy - 1.3 * radius, 0))
        dy, dx = (rows[top:] - cy) / radius, (cols - cx) / radius
        distance = np.sqrt(dy * dy + dx * dx) - 0.45 * (lumps[top:] - 0.5)
        coverage = np.clip((1.0 - distance) * radius * 0.5, 0.0, 1.0)
        up = np.clip(-dy, 0.0, 1.0)  # the top of a crown faces the sky and the sun
        lambert = np.clip(0.35 + 0.4 * up * light.direction[1] + 0.3 * dx * light.direction[0]
                          + 0.3 * up, 0.05, 1.0) * sunlit(light, top)
        paint_foreground(image, top, albedo * (lambert[..., None] * light.sun + light.ambient),
                         0.35 + 1.3 * texture[top:] ** 1.5, coverage)
    return image


def render_boulders(light, rng, image):
    """Rocks in front of the camera: pale, angular, cracked and grainy, lit by the scene's sun.

    Photos often stand on a slab or a boulder field; a generator without them teaches that
    anything bright and smooth at the bottom of the frame is water mirroring the sky. Painted
    from the farthest (highest) to the nearest, over whatever else is there; no haze.
    """
    h, w, _ = image.shape
    grain = pixel_texture(rng, h, w, cell=RENDER_SCALE)
    mottle = pixel_texture(rng, h, w, cell=h / 16)
    cracks = (1.0 - np.abs(2.0 * pixel_texture(rng, h, w, cell=h / 6) - 1.0)) ** 40
    facets = np.floor(pixel_texture(rng, h, w, cell=h / 10) * 4.0) / 3.0  # flat faces
    albedo = jitter(rng, BOULDERS[rng.integers(len(BOULDERS))], 0.05, 0.15)
    rows = np.arange(h, dtype=np.float32)[:, None]
    cols = np.arange(w, dtype=np.float32)[None, :]
    for cy in np.sort(rng.uniform(0.78, 1.08, int(rng.integers(1, 6)))) * h:
        ry = rng.uniform(0.1, 0.3) * h
        rx, cx = ry * rng.uniform(1.0, 2.2), rng.uniform(-0.1, 1.1) * w
        power = rng.uniform(1.1, 2.0)  # below 2 the outline has corners: broken rock
        top = int(max(cy - 1.2 * ry, 0))
        dy, dx = (rows[top:] - cy) / ry, (cols - cx) / rx
        distance = (np.abs(dy) ** power + np.abs(dx) ** power) ** (1 / power) \
            + 0.25 * (mottle[top:] - 0.5)
        coverage = np.clip((1.0 - distance) * ry, 0.0, 1.0)
        up = np.clip(-dy, 0.0, 1.0)  # the top of a boulder faces the sky and the sun
        lambert = np.clip(0.3 + 0.5 * up * light.direction[1] + 0.35 * dx * light.direction[0]
                          + 0.3 * up, 0.05, 1.0) * sunlit(light, top)
        texture = (0.7 + 0.3 * mottle[top:] + 0.3 * facets[top:]) \
            * (1.0 + 0.5 * (grain[top:] - 0.5)) * (1.0 - 0.5 * cracks[top:])
        lit = jitter(rng, albedo, 0.03, 0.1) * (lambert[..., None] * light.sun + light.ambient)
        paint_foreground(image, top, lit, texture, coverage)
    return image


# --------------------------------------------------------------------------- camera


def develop(linear, rng):
    """Linear light -> sRGB like a camera: exposure, soft highlights, muted saturation, noise."""
    h, w, _ = linear.shape
    image = sum(linear[i::RENDER_SCALE, j::RENDER_SCALE] for i in range(RENDER_SCALE)
                for j in range(RENDER_SCALE)) * (1.0 / RENDER_SCALE ** 2)
    image = image * np.exp(rng.normal(0.0, 0.03, 3)).astype(np.float32)  # white balance
    image = image * rng.uniform(0.55, 1.1)
    image = image / (1.0 + 0.35 * image)  # soft shoulder instead of a hard clip
    srgb = np.clip(image * 1.2, 0.0, 1.0) ** (1 / 2.2)
    contrast = rng.uniform(0.2, 0.9)  # an S-curve: deeper shadows, brighter clouds and snow
    srgb = srgb - contrast * np.sin(2 * np.pi * srgb) / (2 * np.pi)
    gray = srgb.mean(axis=2, keepdims=True)
    srgb = gray + (srgb - gray) * rng.uniform(0.95, 1.3)
    if rng.random() < 0.6:
        weight = rng.uniform(0.1, 0.25)
        padded = np.pad(srgb, ((1, 1), (1, 1), (0, 0)), mode="edge")
        blurred = (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:])
        srgb = srgb * (1 - weight) + blurred * (weight / 4)
    sigma = rng.uniform(0.002, 0.007)
    srgb = srgb + sigma * rng.standard_normal(srgb.shape[:2] + (1,), dtype=np.float32)
    srgb = srgb + (0.4 * sigma) * rng.standard_normal(srgb.shape, dtype=np.float32)
    return np.round(np.clip(srgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def render_scene(scene, rng, size, boulders_rng=None, golden_rng=None, shadows_rng=None,
                 overhead_rng=None, twilight_rng=None, alpenglow_rng=None, patchy_rng=None):
    if alpenglow_rng is not None:
        scene = alpenglow_sun(scene, alpenglow_rng)
    light = make_light(scene, rng)
    if golden_rng is not None:
        light = golden_light(light, golden_rng)
    if overhead_rng is not None:
        light = bright_overhead(light, overhead_rng)
    if shadows_rng is not None:
        light = replace(light, shade=cast_shadow(scene, shadows_rng, size * RENDER_SCALE))
    # the sky is smooth: rendered at the output size, it loses nothing to the downsampling
    sky = render_sky(scene, light, rng, size, size, scene.horizon * size)
    image = np.repeat(np.repeat(sky, RENDER_SCALE, axis=0), RENDER_SCALE, axis=1)
    if twilight_rng is not None:
        light = twilight_land(light, twilight_rng)
    image = render_ridges(scene, light, rng, image, patchy_rng)
    if scene.lake:
        image = render_lake(scene, light, rng, image)
    if scene.foreground == "conifers":
        image = render_conifers(scene, light, rng, image)
    elif scene.foreground == "bushes":
        image = render_bushes(scene, light, rng, image)
    if boulders_rng is not None:
        image = render_boulders(light, boulders_rng, image)
    return develop(image, rng)


def render_landscape(seed, size=128, zoom=1.0, boulders=0.0, golden=0.0, shadows=0.0,
                     overhead=0.0, fine=1.0, twilight=0.0, alpenglow=0.0, patchy=0.0,
                     sunsets=SUNSETS):
    """One landscape as uint8 sRGB (size, size, 3), fully determined by `seed` (int or tuple).

    zoom > 1 renders the scene up to that many times larger (log-uniform per image) and keeps a
    random size x size window: close-ups and wide vistas both, as photos crop them. Textures
    keep their size in pixels, as leaves and needles do in a photo of any framing.
    fine > 1 renders the scene on a frame up to that many times larger (log-uniform per image)
    and brings all of it down to size x size with Lanczos, as a photo is brought to the
    network's size: shapes keep their share of the frame, while leaves, needles and grain
    (sized in pixels of the frame) come out up to that many times finer per pixel.
    boulders is the share of landscapes with rocks in front (render_boulders), golden the share
    of sunsets whose whole sky glows (golden_light), shadows the share of landscapes under a
    sun (not overcast) with part of the land in a cast shadow (cast_shadow), overhead the share
    of clear and hazy skies brightest at the top (bright_overhead), twilight the share of sunsets
    with the land lit far more dimly than the sky (twilight_land), alpenglow the share of clear
    skies with the sun low behind the camera (alpenglow_sun), patchy the share of summer and
    spring scenes with dry grass in patches of their meadows (dry_patches). Each draws from a
    stream of its own, so every landscape without them is the one that the defaults give.
    sunsets is the share of landscapes under a sunset sky (sky_weights; SUNSETS by default).
    """
    if int(size) < 4:
        raise ValueError(f"size must be at least 4 pixels, got {size}")
    if zoom < 1 or fine < 1:
        raise ValueError(f"zoom and fine must be at least 1, got {zoom} and {fine}")
    if zoom > 1 and fine > 1:
        raise ValueError("zoom and fine cannot both be above 1")
    shares = {"boulders": boulders, "golden": golden, "shadows": shadows, "overhead": overhead,
              "twilight": twilight, "alpenglow": alpenglow, "patchy": patchy}
    for name, share in {**shares, "sunsets": sunsets}.items():
        if not 0 <= share <= 1:
            raise ValueError(f"{name} must be a share between 0 and 1, got {share}")
    rng = np.random.default_rng(seed)
    scene = sample_scene(rng, sunsets)
    extras = {}
    for (name, skies), child in zip(SHARE_SKIES.items(),
                                    np.random.SeedSequence(seed).spawn(len(SHARE_SKIES))):
        share_rng = np.random.default_rng(child)
        extras[f"{name}_rng"] = share_rng if scene.sky in skies \
            and share_rng.random() < shares[name] else None
    size = int(size)
    if zoom == 1 and fine == 1:
        return render_scene(scene, rng, size, **extras)
    frame = int(round(size * np.exp(rng.uniform(0.0, np.log(max(zoom, fine))))))
    image = render_scene(scene, rng, frame, **extras)
    if fine > 1:
        from PIL import Image

        return np.asarray(Image.fromarray(image).resize((size, size), Image.LANCZOS))
    top, left = rng.integers(0, frame - size + 1, size=2)
    return image[top:top + size, left:left + size]


# --------------------------------------------------------------------------- fingerprint


def without_docstring(node):
    """The node with the docstrings of it and its children removed: text, not behaviour."""
    for child in ast.walk(node):
        body = getattr(child, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str):
            child.body = body[1:] or [ast.Pass()]
    return node


def is_rendering(node):
    """Top-level statements that decide the pixels: not imports, the contact sheet, the CLI,
    the `if __name__` guard or this fingerprint itself."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.If, ast.Expr)):
        return False
    if isinstance(node, ast.Assign) and any(getattr(t, "id", "") in ("GENERATOR_VERSION",
                                                                      "NOT_RENDERING",
                                                                      *NOT_RENDERING)
                                            for t in node.targets):
        return False
    return getattr(node, "name", None) not in NOT_RENDERING


def rendering_code_sha256(source):
    """sha256 of the rendering code in `source` (this module's text), parsed and written back
    by `ast`: it changes when any constant, palette or function that draws a landscape changes,
    and not for comments, docstrings, formatting or the contact-sheet and CLI code. (ast.unparse
    may write a statement differently on another Python minor version: that asks for a rebuild
    too, which is safe.)"""
    code = "\n".join(ast.unparse(without_docstring(node)) for node in ast.parse(source).body
                     if is_rendering(node))
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=1)
def rendering_sha256():
    return rendering_code_sha256(Path(__file__).read_text(encoding="utf-8"))


def generator_fingerprint():
    """What dataset.py stores in a built-in dataset's meta.json and compares on loading."""
    return {"version": GENERATOR_VERSION, "rendering_sha256": rendering_sha256()}


# --------------------------------------------------------------------------- contact sheet


def contact_sheet(images, columns=8, gap=2):
    """A grid of images with a thin white gap, as one uint8 array."""
    n, size = len(images), images[0].shape[0]
    rows = -(-n // columns)
    sheet = np.full((rows * (size + gap) - gap, columns * (size + gap) - gap, 3), 255, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = r * (size + gap), c * (size + gap)
        sheet[top:top + size, left:left + size] = image
    return sheet


def save_png(array, path, palette=True):
    """Write atomically: a killed run never leaves half a PNG behind.

    The sensor noise makes a full-colour sheet about 0.8 MB; a dithered 256-colour palette keeps
    the README figure near 0.2 MB and looks the same at its size.
    """
    from PIL import Image

    image = Image.fromarray(array)
    if palette:
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=256,
                              dither=Image.Dither.FLOYDSTEINBERG)
    with files.atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)


def add_share_arguments(parser, prefix=""):
    """--boulders, --golden, --shadows, --overhead, --twilight, --alpenglow, --patchy:
    render_landscape's shares, 0 by default; --sunsets, the share of sunset skies."""
    for name, what in SHARES.items():
        parser.add_argument(f"--{name}", type=cli.share, default=0.0, metavar="SHARE",
                            help=f"{prefix}the share of {what} (0 to 1)")
    parser.add_argument("--sunsets", type=cli.share, default=SUNSETS, metavar="SHARE",
                        help=f"{prefix}the share of landscapes under a sunset sky, the other "
                             "skies keeping their proportions (0 to 1; default %(default)s)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("--contact-sheet", required=True, metavar="PNG",
                        help="where to write a grid of sample landscapes")
    parser.add_argument("--count", type=int, default=32, help="number of landscapes")
    parser.add_argument("--size", type=int, default=128, help="side of each landscape in pixels")
    parser.add_argument("--columns", type=int, default=8, help="landscapes per row")
    parser.add_argument("--seed", type=int, default=0, help="seed; landscape i uses (seed, i)")
    add_share_arguments(parser)
    parser.add_argument("--full-colour", action="store_true",
                        help="write 24-bit RGB instead of a 256-colour palette (4x larger)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.columns < 1:
        parser.error("--count and --columns must be at least 1")
    if args.size < 4:
        parser.error("--size must be at least 4")
    return args


def main(argv=None):
    args = parse_args(argv)
    shares = {name: getattr(args, name) for name in SHARE_DEFAULTS}
    images = [render_landscape((args.seed, i), args.size, **shares) for i in range(args.count)]
    save_png(contact_sheet(images, args.columns), args.contact_sheet, palette=not args.full_colour)
    print(f"wrote {args.count} landscapes of {args.size}x{args.size} to {args.contact_sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
