"""The colour contract shared by every script: sRGB <-> CIE L*a*b* and model scaling.

Every file that touches colour goes through this module, so that the dataset,
the training pipeline, the metrics and colorize.py can never disagree.

    colour space : CIE L*a*b*, D65 white, from sRGB via skimage.color
    model input  : L / 50 - 1        shape (H, W, 1), about [-1, 1]
    model output : ab / 128          shape (H, W, 2), the range of tanh

A saved model.keras keeps exactly this contract, so anyone can load it with
`keras.saving.load_model` and colorize with nothing but this page as a guide.
"""

import numpy as np
from skimage import color

L_CENTER = 50.0  # L* runs 0..100; centring at 50 and dividing by 50 gives [-1, 1]
L_SCALE = 50.0
AB_SCALE = 128.0  # a*, b* of sRGB colours stay within about +-128


def to_float_rgb(rgb, dtype=np.float64):
    """Accept uint8 (0..255) or float (0..1) sRGB and return `dtype` in [0, 1]."""
    rgb = np.asarray(rgb)
    if rgb.shape[-1] != 3:
        raise ValueError(f"expected an RGB array with 3 channels last, got shape {rgb.shape}")
    if rgb.dtype == np.uint8:
        return rgb.astype(dtype) / 255.0
    return np.clip(rgb.astype(dtype), 0.0, 1.0)


def rgb_to_lab(rgb, dtype=np.float64):
    """sRGB (..., 3), uint8 or float in [0, 1] -> float32 L*a*b* (..., 3).

    `dtype` is the precision skimage computes in: float32 is about 5x faster and
    agrees with float64 to about 1e-4 in L*, which full-size photos (colorize.py) need.
    """
    lab = color.rgb2lab(to_float_rgb(rgb, dtype), channel_axis=-1)
    return lab.astype(np.float32, copy=False)


def lab_to_rgb(lab, dtype=np.float64):
    """L*a*b* (..., 3) -> float32 sRGB in [0, 1].

    Predicted ab may fall outside the sRGB gamut, and the result is clipped to it.
    `dtype` is the precision skimage computes in (float32: about 3x faster).

    Where b* is so large that (L* + 16) / 116 - b* / 200, the cube root of Z / Zn, falls
    below 0, skimage sets Z to 0 and warns. b* is clipped to that bound first, which gives
    the same colours (bit for bit in float64, within 3e-7 in float32) without the warning:
    silencing it with warnings.catch_warnings is not thread-safe (threads can leave its
    filter behind for good), and colorize.py converts bands in threads.
    """
    lab = np.array(lab, dtype=dtype)  # a copy: b* is clipped in place
    y = (lab[..., 0] + 16.0) / 116.0
    # One step below the bound, so that Z stays >= 0 after rounding.
    np.minimum(lab[..., 2], np.nextafter(200.0 * y, -np.inf), out=lab[..., 2])
    rgb = color.lab2rgb(lab, channel_axis=-1)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32, copy=False)


def lab_to_rgb_uint8(lab, dtype=np.float64):
    """L*a*b* -> uint8 sRGB, rounded, for saving images."""
    return np.round(lab_to_rgb(lab, dtype) * 255.0).astype(np.uint8)


def split_lab(lab):
    """(..., 3) Lab -> (L (..., 1), ab (..., 2))."""
    lab = np.asarray(lab)
    return lab[..., :1], lab[..., 1:]


def join_lab(lightness, ab):
    """L (..., 1) and ab (..., 2) -> Lab (..., 3)."""
    return np.concatenate([np.asarray(lightness), np.asarray(ab)], axis=-1)


def rgb_to_l(rgb, dtype=np.float64):
    """Lightness only, (..., 1): what the model sees of a photo."""
    return split_lab(rgb_to_lab(rgb, dtype))[0]


def encode_l(lightness):
    """L* in 0..100 -> model input in about [-1, 1]."""
    return (np.asarray(lightness, dtype=np.float32) - L_CENTER) / L_SCALE


def encode_ab(ab):
    """a*b* -> model target in about [-1, 1]."""
    return np.asarray(ab, dtype=np.float32) / AB_SCALE


def decode_ab(model_output):
    """Model output -> a*b*."""
    return np.asarray(model_output, dtype=np.float32) * AB_SCALE
