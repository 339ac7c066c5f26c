"""The colour contract shared by every script: sRGB <-> CIE L*a*b* and model scaling.

Every file that touches colour goes through this module, so that the dataset,
the training pipeline, the metrics and colorize.py can never disagree.

    colour space : CIE L*a*b*, D65 white, from sRGB via skimage.color
    model input  : L / 50 - 1        shape (H, W, 1), about [-1, 1]
    model output : ab / 128          shape (H, W, 2), the range of tanh

A saved model.keras keeps exactly this contract, so anyone can load it with
`keras.saving.load_model` and colorize with nothing but this page as a guide.
"""

import warnings

import numpy as np
from skimage import color

L_CENTER = 50.0  # L* runs 0..100; centring at 50 and dividing by 50 gives [-1, 1]
L_SCALE = 50.0
AB_SCALE = 128.0  # a*, b* of sRGB colours stay within about +-128


def to_float_rgb(rgb):
    """Accept uint8 (0..255) or float (0..1) sRGB and return float64 in [0, 1]."""
    rgb = np.asarray(rgb)
    if rgb.shape[-1] != 3:
        raise ValueError(f"expected an RGB array with 3 channels last, got shape {rgb.shape}")
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float64) / 255.0
    return np.clip(rgb.astype(np.float64), 0.0, 1.0)


def rgb_to_lab(rgb):
    """sRGB (..., 3), uint8 or float in [0, 1] -> float32 L*a*b* (..., 3)."""
    return color.rgb2lab(to_float_rgb(rgb), channel_axis=-1).astype(np.float32)


def lab_to_rgb(lab):
    """L*a*b* (..., 3) -> float32 sRGB in [0, 1].

    Predicted ab may fall outside the sRGB gamut; skimage clips those colours
    and warns about it, which is expected here and not worth a warning.
    """
    lab = np.asarray(lab, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rgb = color.lab2rgb(lab, channel_axis=-1)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def lab_to_rgb_uint8(lab):
    """L*a*b* -> uint8 sRGB, rounded, for saving images."""
    return np.round(lab_to_rgb(lab) * 255.0).astype(np.uint8)


def split_lab(lab):
    """(..., 3) Lab -> (L (..., 1), ab (..., 2))."""
    lab = np.asarray(lab)
    return lab[..., :1], lab[..., 1:]


def join_lab(lightness, ab):
    """L (..., 1) and ab (..., 2) -> Lab (..., 3)."""
    return np.concatenate([np.asarray(lightness), np.asarray(ab)], axis=-1)


def rgb_to_l(rgb):
    """Lightness only, (..., 1): what the model sees of a photo."""
    return split_lab(rgb_to_lab(rgb))[0]


def encode_l(lightness):
    """L* in 0..100 -> model input in about [-1, 1]."""
    return (np.asarray(lightness, dtype=np.float32) - L_CENTER) / L_SCALE


def decode_l(model_input):
    """Model input -> L* in 0..100."""
    return np.asarray(model_input, dtype=np.float32) * L_SCALE + L_CENTER


def encode_ab(ab):
    """a*b* -> model target in about [-1, 1]."""
    return np.asarray(ab, dtype=np.float32) / AB_SCALE


def decode_ab(model_output):
    """Model output -> a*b*."""
    return np.asarray(model_output, dtype=np.float32) * AB_SCALE
