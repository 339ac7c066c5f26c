"""The three colorization networks: Autoencoder, ResNet and U-Net, in two presets each.

    python models.py            # table: parameters, GFLOP at 128x128, receptive field, stride
    python models.py --size 256 --width 2   # the same at another image size and width

Every model maps L/50 - 1, shape (H, W, 1), to ab/128, shape (H, W, 2) (see lab.py). Every
model is fully convolutional: H and W may be any multiples of `total_stride(...)`.

Presets
- seed:  the seed study's graphs (Prevost-Guillaume/photo-colorization) layer for layer, so its
         comparison can be reproduced: 109,378 / 52,338 / 1,089,794 parameters at 128x128.
         The seed does not state its Dropout rates; 0.2 everywhere is our assumption.
- large: modern versions at a similar budget of about 1 to 1.5 GFLOP forward per 128x128
         image each, so that the comparison is fair: an autoencoder with a true bottleneck
         (no skips, 8x8 spatial code), a ResNet with identity-add residual blocks at 1/4 and
         1/8 resolution whose receptive field spans the image, and a U-Net with skips.

Heads
- regression:     ab/128 at full resolution, the seed study's output layer (train.py --loss mse).
- classification: logits over the quantized ab gamut at 1/4 resolution (Zhang et al. 2016),
                  from one head all families share (ab_classes.classification_head) on the same
                  last features the regression output sees; ab_classes.ab_output_model turns
                  it back into ab/128 at full resolution.

Only built-in Keras layers are used, so a saved model.keras loads in safe mode without this
file. The output layer computes in float32 (dtype="float32"), so that under the
mixed_bfloat16 policy the predictions and the loss stay float32.

FLOPs are counted analytically from the layer configs: 2 x multiply-accumulates of every
Conv2D and Conv2DTranspose (bias, normalisation and activations are left out; they are a few
percent). Training costs about 3x the forward FLOPs.
"""

import argparse
import fractions
import math
import sys
import zipfile

import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)
import keras
import numpy as np
from keras import layers

import ab_classes
import cli
from recipe import HEADS, MODELS, PRESETS
INPUT_SHAPE = (None, None, 1)
SEED_DROPOUT = 0.2
# Keras' default momentum (0.99) averages the inference statistics over ~100 steps; a study
# run has only 25-60 steps per epoch, so the saved early-epoch models normalised with stale
# statistics (seed U-Net: val MSE 0.0115 in inference vs 0.0075 with batch statistics).
BN_MOMENTUM = 0.9


def batch_norm(x):
    return layers.BatchNormalization(momentum=BN_MOMENTUM)(x)


def conv(x, filters, kernel=3, strides=1, activation="relu", name=None, **kwargs):
    return layers.Conv2D(filters, kernel, strides=strides, padding="same",
                         activation=activation, name=name, **kwargs)(x)


def output_conv(x, kernel=3):
    """ab/128 in tanh range, computed in float32 whatever the global precision policy."""
    return layers.Conv2D(2, kernel, padding="same", activation="tanh", dtype="float32",
                         name="ab")(x)


def scaled(filters, width):
    return max(1, int(round(filters * width)))


# --------------------------------------------------------------------------- seed preset


def seed_autoencoder(inputs, width=1.0):
    w = lambda f: scaled(f, width)  # noqa: E731
    x = conv(inputs, w(8), strides=2)
    x = batch_norm(x)
    x = conv(x, w(32))
    x = conv(x, w(32))
    x = conv(x, w(32), strides=2)
    x = batch_norm(x)
    x = conv(x, w(64))
    x = conv(x, w(64))
    x = layers.Dropout(SEED_DROPOUT)(x)
    x = layers.UpSampling2D()(x)
    x = batch_norm(x)
    x = conv(x, w(32))
    x = conv(x, w(32))
    x = layers.Dropout(SEED_DROPOUT)(x)
    x = layers.UpSampling2D()(x)
    x = conv(x, w(16))
    return layers.Dropout(SEED_DROPOUT)(x)  # full resolution


def seed_resnet(inputs, width=1.0):
    """Four full-resolution stages whose output is concatenated with their input (dense-style)."""
    x = inputs
    for filters in (8, 16, 32, 32):
        y = conv(x, scaled(filters, width))
        y = conv(y, scaled(filters, width))
        x = layers.Concatenate()([x, y])
    x = conv(x, scaled(16, width), kernel=2)
    return conv(x, scaled(8, width), kernel=1)  # full resolution


def seed_unet(inputs, width=1.0):
    skips, x = [], inputs
    for i, filters in enumerate((16, 32, 64, 128)):
        x = conv(x, scaled(filters, width))
        x = conv(x, scaled(filters, width))
        if i > 0:
            x = batch_norm(x)
        x = layers.MaxPooling2D(2)(x)
        skips.append(x)
    x = conv(x, scaled(64, width), kernel=4, strides=2)  # centre, 1/32 resolution
    for filters, skip in zip((128, 64, 32, 16), reversed(skips)):
        x = layers.Conv2DTranspose(scaled(filters, width), 2, strides=2, padding="same",
                                   activation="relu")(x)
        x = layers.Dropout(SEED_DROPOUT)(x)
        x = layers.Concatenate()([x, skip])
        x = conv(x, scaled(filters, width))
        x = conv(x, scaled(filters, width))
    return x  # half resolution: the seed's output layer upsamples


def seed_unet_output(features):
    """The seed U-Net's output: a stride-2 transposed conv from half resolution."""
    return layers.Conv2DTranspose(2, 4, strides=2, padding="same", activation="tanh",
                                  dtype="float32", name="ab")(features)


# --------------------------------------------------------------------------- large preset


def conv_bn(x, filters, kernel=3, strides=1, activation="relu"):
    """Conv -> BatchNorm -> activation, the modern building block (no bias before BN)."""
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    x = batch_norm(x)
    return layers.Activation(activation)(x) if activation else x


def residual_block(x, filters):
    """Basic ResNet block: two 3x3 convs added to the identity, then ReLU."""
    y = conv_bn(x, filters)
    y = conv_bn(y, filters, activation=None)
    return layers.Activation("relu")(layers.Add()([x, y]))


def upsample(x, filters):
    """Nearest-neighbour x2 then a 3x3 conv: no checkerboard artefacts of transposed convs."""
    return conv_bn(layers.UpSampling2D(2)(x), filters)


def large_autoencoder(inputs, width=1.0):
    """Encoder down to an 8x8 code of 48 channels at 128x128 (1/5 of the input values), no skips."""
    w = lambda f: scaled(f, width)  # noqa: E731
    x = conv_bn(inputs, w(16))
    for filters in (32, 64, 128, 256):  # 1/2, 1/4, 1/8, 1/16
        x = conv_bn(x, w(filters), strides=2)
        x = conv_bn(x, w(filters))
    x = conv_bn(x, w(48), kernel=1)  # the bottleneck
    for filters in (128, 64, 32, 16):  # 1/8, 1/4, 1/2, 1/1
        x = upsample(x, w(filters))
        x = conv_bn(x, w(filters))
    return x  # full resolution


def large_resnet(inputs, width=1.0):
    """Downsample to 1/4, residual stages at 1/4 and 1/8, upsample back to full resolution."""
    w = lambda f: scaled(f, width)  # noqa: E731
    x = conv_bn(inputs, w(16))
    x = conv_bn(x, w(32), strides=2)  # 1/2
    x = conv_bn(x, w(64), strides=2)  # 1/4
    for _ in range(2):
        x = residual_block(x, w(64))
    x = conv_bn(x, w(128), strides=2)  # 1/8
    for _ in range(3):
        x = residual_block(x, w(128))
    x = upsample(x, w(64))  # 1/4
    x = upsample(x, w(32))  # 1/2
    return upsample(x, w(16))  # 1/1


def large_unet(inputs, width=1.0):
    """Classic U-Net: four poolings, two conv-BN-ReLU per level, skips by concatenation."""
    levels = [scaled(f, width) for f in (16, 32, 64, 128)]
    skips, x = [], inputs
    for filters in levels:
        x = conv_bn(conv_bn(x, filters), filters)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    x = conv_bn(conv_bn(x, scaled(192, width)), scaled(192, width))
    for filters, skip in zip(reversed(levels), reversed(skips)):
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same")(x)
        x = layers.Concatenate()([x, skip])
        x = conv_bn(conv_bn(x, filters), filters)
    return x  # full resolution


def output_conv_1x1(features):
    return output_conv(features, kernel=1)


# (name, preset) -> (trunk: inputs, width -> last features; the regression output layer;
#                    the features' resolution as a divisor of the input's)
BUILDERS = {
    ("autoencoder", "seed"): (seed_autoencoder, output_conv, 1),
    ("resnet", "seed"): (seed_resnet, output_conv_1x1, 1),
    ("unet", "seed"): (seed_unet, seed_unet_output, 2),
    ("autoencoder", "large"): (large_autoencoder, output_conv, 1),
    ("resnet", "large"): (large_resnet, output_conv, 1),
    ("unet", "large"): (large_unet, output_conv_1x1, 1),
}

STRIDES = {
    ("autoencoder", "seed"): 4,
    ("resnet", "seed"): 1,
    ("unet", "seed"): 32,
    ("autoencoder", "large"): 16,
    ("resnet", "large"): 8,
    ("unet", "large"): 16,
}


def build_model(name, preset="seed", width=1.0, input_shape=INPUT_SHAPE, head="regression",
                num_bins=None):
    """A functional Keras model of L/50-1 (H, W, 1), named `{name}-{preset}`.

    head="regression": ab/128 (H, W, 2) out, the seed study's output layer.
    head="classification": logits over `num_bins` ab bins at (H/4, W/4), float32, from the
    head every family shares (ab_classes.classification_head on the same last features);
    wrap it with ab_classes.ab_output_model to get ab/128 at (H, W) back.
    `width` scales every hidden layer's filters (1.0 = the documented graph). Build under the
    precision policy you want (keras.mixed_precision.set_global_policy) before calling this.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {MODELS}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {PRESETS}")
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {HEADS}")
    if head == "classification" and not (num_bins and num_bins > 1):
        raise ValueError(f"a classification head needs num_bins > 1, got {num_bins}")
    trunk, regression_output, feature_scale = BUILDERS[(name, preset)]
    inputs = keras.Input(shape=input_shape, name="L")
    features = trunk(inputs, width)
    if head == "regression":
        outputs = regression_output(features)
    else:
        outputs = ab_classes.classification_head(
            features, num_bins, downsample=ab_classes.TARGET_STRIDE // feature_scale)
    return keras.Model(inputs, outputs, name=f"{name}-{preset}")


class SavedModelError(Exception):
    """A model.keras that Keras cannot load (missing, cut short, of another kind)."""


def load_saved(path):
    """A saved model.keras, uncompiled (colorizing and averaging need no optimizer), or a
    SavedModelError that names the file: a cut-short or foreign file is said to be one, where
    Keras would say "File not found" or give advice about TFSMLayer."""
    if not zipfile.is_zipfile(path):
        raise SavedModelError(f"{path} is not a Keras model file (.keras zip archive)")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # whatever Keras raises for a broken file, with its cause
        raise SavedModelError(f"cannot load {path}: {error}") from error


def average_of(members, name="ensemble"):
    """One model whose ab is the mean of the members' ab (same input, same output contract).

    Averaging independently trained networks removes the part of each one's error that is
    its own: with MSE, the mean prediction is never worse than the members' average error.
    The members are kept whole inside (built-in Keras layers only, loadable in safe mode).
    """
    if len(members) < 2:
        raise ValueError(f"an average needs at least two members, got {len(members)}")
    inputs = keras.Input(shape=(None, None, 1), name="L")
    name_members(members)
    outputs = layers.Average(name="ab_mean")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=name)


def name_members(members):
    """Name the members member_1, member_2, ...: saved models share names, and models nested in
    one model may not. Returns them."""
    for index, member in enumerate(members):
        member.name = f"member_{index + 1}"
    return members


def with_chroma_gain(model, chromas, gains, name=None):
    """The model with its ab multiplied by a gain that depends on their chroma: gains[k] at
    chromas[k] (model units, ab/128, ascending), along straight lines in the squared chroma
    between them and constant beyond; ensemble.fit_chroma_gains measures them.

    Averaging networks and views pulls colours toward gray wherever they disagree; gains
    fitted on held-out landscapes give that colour back where it is due on average. Built-in
    layers only (a Rescaling for one gain; else squares, a ReLU per knot and a weighted sum),
    so the saved model still loads in safe mode with nothing of this project.
    """
    inputs = keras.Input(shape=(None, None, 1), name="L")
    ab = model(inputs)
    if len(gains) == 1:
        ab = layers.Rescaling(float(gains[0]), name="ab_gain")(ab)
    else:
        ab = layers.Multiply(name="ab_gain")([ab, gain_of_chroma(ab, chromas, gains)])
    return keras.Model(inputs, ab, name=name or f"{model.name}-gain")


def with_guided_filter(model, radius, eps, name=None):
    """The model with its ab passed through a guided filter led by L (He et al. 2010): in every
    window of (2 radius + 1)^2 pixels the colour is fitted as a straight-line function of L*,
    and each pixel takes the mean of the fits of the windows that hold it; eps, in L* units
    squared, is the variance of L* below which a window counts as flat and keeps its mean colour.

    In a photo the colour changes where the lightness does: at a ridge against the sky, at a
    tree's edge. The networks paint from half resolution, and averaging networks and views
    softens their edges further, so colour bleeds across L's edges; the filter moves the colour's
    edges onto them. Built-in layers and ops only, so the saved model still loads in safe mode;
    every step is taken in float32 whatever the precision policy, and the box means count only
    the pixels inside the image at its borders.
    """
    if radius < 1 or eps <= 0:
        raise ValueError(f"a guided filter needs a radius of 1 px or more and eps > 0, got "
                         f"{radius} and {eps}")
    inputs = keras.Input(shape=(None, None, 1), name="L")
    ab = model(inputs)
    exact = {"dtype": "float32"}  # L* squared needs float32's precision under any policy
    lightness = layers.Rescaling(50.0, offset=50.0, name="guide_lightness", **exact)(inputs)  # L*
    box = layers.AveragePooling2D(2 * radius + 1, strides=1, padding="same", name="guide_box",
                                  **exact)
    means = box(layers.Concatenate(name="guide_moments", **exact)(
        [lightness, ab, keras.ops.square(lightness), keras.ops.multiply(lightness, ab)]))
    mean_l, mean_ab = means[..., 0:1], means[..., 1:3]
    variance = keras.ops.relu(means[..., 3:4] - keras.ops.square(mean_l))  # >= 0 despite rounding
    slope = keras.ops.divide(means[..., 4:6] - keras.ops.multiply(mean_l, mean_ab),
                             variance + float(eps))
    offset = mean_ab - keras.ops.multiply(slope, mean_l)
    fits = box(layers.Concatenate(name="guide_fits", **exact)([slope, offset]))
    ab = layers.Add(name="ab_guided", **exact)([keras.ops.multiply(fits[..., 0:2], lightness),
                                       fits[..., 2:4]])
    return keras.Model(inputs, ab, name=name or f"{model.name}-guided")


def gain_of_chroma(ab, chromas, gains):
    """The piecewise-linear gain of with_chroma_gain for each pixel of `ab`, on both channels:
    g0 + sum_k kink_k * relu(a^2 + b^2 - knot_k), the kinks being the changes of slope."""
    knots = np.square(np.asarray(chromas, np.float64))
    gains = np.asarray(gains, np.float64)
    slopes = np.diff(gains) / np.diff(knots)
    kinks = np.diff(slopes, prepend=0.0, append=0.0)  # flat before the first and after the last
    hinges = layers.Dense(len(knots), activation="relu", trainable=False, name="chroma_hinges")
    combine = layers.Dense(2, trainable=False, name="chroma_gain")
    gain = combine(hinges(layers.Multiply(name="ab_squared")([ab, ab])))
    hinges.set_weights([np.ones((2, len(knots)), np.float32), -knots.astype(np.float32)])
    combine.set_weights([np.repeat(kinks[:, None], 2, axis=1).astype(np.float32),
                         np.full(2, gains[0], np.float32)])
    return gain


def view_resampler(scale, name="view"):
    """L enlarged by `scale` (a fraction p/q): bilinear upsampling by p, then area averaging by q.

    One home for the resampling that viewed_at puts in front of a network, so that
    tools/colour_stats.py measures photos exactly as the network will see them.
    """
    scale = fractions.Fraction(scale)
    inputs = keras.Input(shape=(None, None, 1), name="L")
    x = inputs
    if scale.numerator > 1:
        x = layers.UpSampling2D(scale.numerator, interpolation="bilinear", name="view_up")(x)
    if scale.denominator > 1:
        x = layers.AveragePooling2D(scale.denominator, name="view_down")(x)
    return keras.Model(inputs, x, name=name)


def view_scales(scale_or_scales):
    """One view scale or several, as a list of positive Fractions."""
    single = isinstance(scale_or_scales, (str, int, fractions.Fraction))
    scales = [fractions.Fraction(scale) for scale in
              ([scale_or_scales] if single else scale_or_scales)]
    if not scales or min(scales) <= 0:
        raise ValueError(f"view scales must be positive, got {scale_or_scales}")
    return scales


def viewed_at(model, scales, name=None):
    """The model shown its input enlarged by `scales`, its ab area-averaged back to the input's
    size; with several scales, the mean of those views' ab.

    Real photos brought to the training size carry more detail per pixel than the landscapes
    (mean |gradient of L| 4.6 against 3.3 at 128 px, tools/colour_stats.py): a photo shown
    a little larger looks more like what the network learnt on. Which enlargement suits a photo
    best differs from photo to photo and is not told by its detail (measured on photos/), so
    averaging several views hedges, as averaging networks does. The network is one shared
    layer however many views see it, so the saved model keeps one copy of its weights; built-in
    layers only, so it loads in safe mode; ensemble.view_stride says what the input's sides
    must be multiples of.
    """
    scales = view_scales(scales)
    inputs = keras.Input(shape=(None, None, 1), name="L")
    views = view_outputs(model, scales, inputs)
    ab = views[0] if len(views) == 1 else layers.Average(name="ab_mean_of_views")(views)
    return keras.Model(inputs, ab, name=name or f"{model.name}-viewed")


def view_outputs(model, scales, inputs, prefix=""):
    """The ab of `model` on `inputs` enlarged by each of `scales` (Fractions), each brought
    back to the inputs' size by area averaging: the views viewed_at averages."""
    views = []
    for index, scale in enumerate(scales):
        suffix = "" if len(scales) == 1 else f"_{index + 1}"
        x = inputs if scale == 1 else view_resampler(scale, name=f"{prefix}view{suffix}")(inputs)
        ab = model(x)
        if scale.denominator > 1:
            ab = layers.UpSampling2D(scale.denominator, interpolation="nearest",
                                     name=f"{prefix}ab_up{suffix}")(ab)
        if scale.numerator > 1:
            ab = layers.AveragePooling2D(scale.numerator, name=f"{prefix}ab_down{suffix}")(ab)
        views.append(ab)
    return views


def agreed_average(members, scales, octaves, name="ensemble"):
    """The mean of every member's ab seen at every scale (average_of and viewed_at at once),
    the detail of that mean at each of `octaves` octaves (Gaussian sigma 1, 2, 4, ... px)
    kept in the share the predictions agree on: squared mean over squared mean plus spread,
    pooled over the octave's own neighbourhood.

    On real photos the networks and views disagree most in fine colour detail, where they
    are least right (they read the photos' textures differently from the landscapes'); on
    landscapes like the ones they learnt on they agree there, and the detail stays. The
    spread needs no truth, so the rule adapts to each photo. Built-in Keras layers and ops
    only, so the saved model loads in safe mode.
    """
    scales = view_scales(scales)
    if len(members) * len(scales) < 2 or octaves < 1:
        raise ValueError(f"an agreed average needs at least two predictions and one octave, "
                         f"got {len(members)} members x {len(scales)} views, {octaves} octaves")
    inputs = keras.Input(shape=(None, None, 1), name="L")
    predictions = []
    for index, member in enumerate(name_members(members)):
        prefix = f"m{index + 1}_" if len(members) > 1 else ""
        predictions += view_outputs(member, scales, inputs, prefix)
    count = len(predictions)
    # All predictions side by side in the channels, so that each step below is one operation
    # for all of them: an eager call (evaluate.py, colorize.py's first photo of a working
    # shape) runs one operation at a time.
    stacked = layers.Concatenate(name="ab_all")(predictions)
    mean_of = fixed_channel_map(np.tile(np.eye(2), (count, 1)) / count, "ab_mean_of")
    mean_energy_of = fixed_channel_map(np.ones((2 * count, 1)) / count, "energy_mean_of")
    ones = layers.Dense(1, kernel_initializer="zeros", bias_initializer="ones",
                        trainable=False, name="ones")(inputs)
    detail, previous = [], stacked
    for octave in range(octaves):
        sigma = 2 ** octave
        blur_ab = gaussian_blur(sigma, 2 * count, f"blur{sigma}_ab")
        blur_energy = gaussian_blur(sigma, 1, f"blur{sigma}_energy")
        norm = blur_energy(ones)  # the kernel's weight inside the image: exact at the borders
        low = keras.ops.divide(blur_ab(stacked), norm)
        band = keras.ops.subtract(previous, low)
        agreed_band = mean_of(band)
        agreed = energy(agreed_band)
        spread = keras.ops.relu(mean_energy_of(keras.ops.square(band)) - agreed)
        agreed, spread = blur_energy(agreed), blur_energy(spread)
        share = keras.ops.divide(agreed, agreed + spread + 1e-12)
        detail.append(keras.ops.multiply(share, agreed_band))
        previous = low
    ab = layers.Add(name="ab_agreed")([mean_of(previous), *detail])
    return keras.Model(inputs, ab, name=name)


def energy(ab):
    """a^2 + b^2 at each pixel, shape (..., 1)."""
    return keras.ops.sum(keras.ops.square(ab), axis=-1, keepdims=True)


def fixed_channel_map(matrix, name):
    """A fixed linear map of the channels (a Dense layer that never trains), as a function."""
    matrix = np.asarray(matrix, np.float32)
    dense = layers.Dense(matrix.shape[1], use_bias=False, trainable=False, name=name)
    dense.build((None, None, None, matrix.shape[0]))
    dense.set_weights([matrix])
    return dense


def gaussian_blur(sigma, channels, name):
    """A fixed Gaussian of `sigma` px over `channels` channels, as two one-dimensional
    depthwise convolutions (zero padding: divide by the blurred ones where borders matter)."""
    radius = math.ceil(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    passes = []
    for axis, shape in (("v", (2 * radius + 1, 1)), ("h", (1, 2 * radius + 1))):
        conv = layers.DepthwiseConv2D(shape, padding="same", use_bias=False, trainable=False,
                                      name=f"{name}_{axis}")
        conv.build((None, None, None, channels))
        conv.set_weights([np.tile(kernel.reshape(shape + (1, 1)), (1, 1, channels, 1))])
        passes.append(conv)
    vertical, horizontal = passes
    return lambda x: horizontal(vertical(x))


def total_stride(model_or_name, preset="seed", head="regression"):
    """The factor that input H and W must be multiples of (pad photos to it before predicting).

    Accepts a model name (with its preset and head) or a built model, whose layers are then
    inspected. The classification head's logits are at 1/4 resolution, so its stride is the
    least common multiple of the trunk's and 4.
    """
    if isinstance(model_or_name, str):
        if (model_or_name, preset) not in STRIDES:
            raise ValueError(f"unknown model/preset {model_or_name!r}/{preset!r}")
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; choose one of {HEADS}")
        stride = STRIDES[(model_or_name, preset)]
        return math.lcm(stride, ab_classes.TARGET_STRIDE) if head == "classification" else stride
    return max_stride(model_or_name)


# --------------------------------------------------------------------------- analysis


def layer_geometry(layer):
    """(kernel, stride, kind) of a layer that changes the spatial geometry, else None."""
    config = layer.get_config()
    if isinstance(layer, layers.Conv2DTranspose):
        return config["kernel_size"][0], config["strides"][0], "up"
    if isinstance(layer, layers.Conv2D):
        return config["kernel_size"][0], config["strides"][0], "down"
    if isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
        return config["pool_size"][0], config["strides"][0], "down"
    if isinstance(layer, layers.UpSampling2D):
        return 1, config["size"][0], "up"
    return None


def layer_inputs(layer):
    """The tensors a layer of a functional model reads (none for the Input layer).

    Every layer of build_model's graphs is called once, so its public `input` is the one.
    """
    if isinstance(layer, layers.InputLayer):
        return []
    return keras.tree.flatten(layer.input)


def receptive_fields(model):
    """{layer name: (receptive field in input pixels, stride in input pixels)}, along the widest path.

    Strides are kept as fractions of the deepest point so that upsampling divides them exactly.
    """
    producer = {id(layer.output): layer.name for layer in model.layers}
    result = {}
    for layer in model.layers:
        parents = [producer.get(id(tensor)) for tensor in layer_inputs(layer)]
        rf, jump = max((result[p] for p in parents if p in result), default=(1, 1.0))
        geometry = layer_geometry(layer)
        if geometry:
            kernel, stride, kind = geometry
            if kind == "down":
                rf, jump = rf + (kernel - 1) * jump, jump * stride
            else:  # each output pixel sees ceil(k/s) input pixels of the coarser grid
                rf, jump = rf + (math.ceil(kernel / stride) - 1) * jump, jump / stride
        result[layer.name] = (rf, jump)
    return {name: (rf, int(round(jump)) if jump >= 1 else jump)
            for name, (rf, jump) in result.items()}


def max_stride(model):
    jumps = [jump for _, jump in receptive_fields(model).values()]
    return int(max(jumps))


def forward_flops(model):
    """Forward FLOPs per image = 2 x MACs of every convolution, from the built shapes."""
    macs = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2DTranspose):
            _, h, w, c_in = layer.input.shape
            k = layer.kernel_size
            macs += h * w * k[0] * k[1] * c_in * layer.filters
        elif isinstance(layer, layers.Conv2D):
            _, h, w, _ = layer.output.shape
            c_in = layer.input.shape[-1]
            k = layer.kernel_size
            macs += h * w * k[0] * k[1] * c_in * layer.filters
    return 2 * macs


def describe(name, preset, size=128, width=1.0):
    """Parameters, forward GFLOP at size x size, receptive field and total stride of one model."""
    model = build_model(name, preset, width, input_shape=(size, size, 1))
    fields = receptive_fields(model)
    return {"model": name, "preset": preset, "parameters": model.count_params(),
            "gflop": forward_flops(model) / 1e9, "receptive_field": fields[model.layers[-1].name][0],
            "stride": max_stride(model)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("--size", type=int, default=128,
                        help="image side the FLOPs and receptive fields are counted at")
    parser.add_argument("--width", type=float, default=1.0, help="filter-count multiplier "
                        "(train.py --width)")
    args = parser.parse_args(argv)
    if args.width <= 0:
        parser.error("--width must be positive")
    stride = max(STRIDES.values())  # every model of the table is built at --size
    if args.size < 1 or args.size % stride:
        parser.error(f"--size must be a positive multiple of {stride}, the largest stride of "
                     "the models")
    return args


def main(argv=None):
    args = parse_args(argv)
    print(f"Forward GFLOP per {args.size}x{args.size} image = 2 x conv multiply-accumulates, "
          "counted analytically from the layer configs; training is about 3x.")
    print(f"{'model':<12} {'preset':<6} {'parameters':>12} {'GFLOP':>7} {'receptive field':>16} "
          f"{'stride':>7}")
    for preset in PRESETS:
        for name in MODELS:
            d = describe(name, preset, args.size, args.width)
            print(f"{name:<12} {preset:<6} {d['parameters']:>12,} {d['gflop']:>7.2f} "
                  f"{d['receptive_field']:>13.0f} px {d['stride']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
