"""Test-only helpers: reference implementations the scripts do not need, and small writers of
datasets from in-memory images."""

import hashlib
import json

import numpy as np

import dataset
import lab


# --------------------------------------------------------------------------- datasets


def write_dataset(out, items, meta):
    """Write `items` (dicts with digest, id, rgb) atomically as a dataset folder at `out`,
    through the builders' own writer."""
    def with_lab(item):
        return {"id": item["id"], "sha256": item["digest"], "lab": lab.rgb_to_lab(item["rgb"])}
    return dataset.write_dataset_stream(out, (with_lab(it) for it in items), len(items), meta)


def write_images(out, images, ids, source, fractions=dataset.DEFAULT_FRACTIONS):
    """In-memory uint8 sRGB images as a dataset folder, hashed, split and written exactly as
    the builders do."""
    items = [{"digest": hashlib.sha256(rgb.tobytes()).hexdigest(), "id": name, "rgb": rgb}
             for rgb, name in zip(images, ids)]
    meta = {"source": source, "size": int(images[0].shape[0]), "skipped": [],
            "split": dataset.split_meta(fractions)}
    return write_dataset(out, items, meta)


# --------------------------------------------------------------------------- references


def decode_l(model_input):
    """Model input -> L* in 0..100: the inverse of lab.encode_l."""
    return np.asarray(model_input, dtype=np.float32) * lab.L_SCALE + lab.L_CENTER


def soft_encode_numpy(ab, bins, neighbours=5, sigma=5.0):
    """Reference soft-encoding (..., Q): Gaussian weights on the k nearest bins, summing to 1.

    Plain numpy and slow; it checks the TensorFlow version against. The defaults are
    ab_classes.NEIGHBOURS and SIGMA (test_ab_classes checks that they agree).
    """
    ab = np.asarray(ab, dtype=np.float64)
    bins = np.asarray(bins, dtype=np.float64)
    distances = ((ab[..., None, :] - bins) ** 2).sum(axis=-1)  # (..., Q)
    nearest = np.argsort(distances, axis=-1)[..., :neighbours]
    weights = np.exp(-np.take_along_axis(distances, nearest, axis=-1) / (2 * sigma**2))
    weights /= weights.sum(axis=-1, keepdims=True)
    encoded = np.zeros(distances.shape)
    np.put_along_axis(encoded, nearest, weights, axis=-1)
    return encoded.astype(np.float32)


def soft_encode(ab, bins, neighbours, sigma):
    """Dense soft-encoding (..., Q) through ab_classes.neighbour_weights, the loss's own code."""
    import tensorflow as tf

    import ab_classes

    ab = tf.convert_to_tensor(ab, tf.float32)
    index, weights = ab_classes.neighbour_weights(tf.reshape(ab, (-1, 2)), bins, neighbours,
                                                  sigma)
    encoded = tf.reduce_sum(tf.one_hot(index, len(bins)) * weights[..., None], axis=-2)
    return tf.reshape(encoded, tf.concat([tf.shape(ab)[:-1], [len(bins)]], axis=0))


def annealed_mean_numpy(logits, bins, temperature):
    """Reference decoding (..., Q) -> ab (..., 2) in Lab units."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    probabilities = np.exp(scaled)
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    return (probabilities @ np.asarray(bins, dtype=np.float64)).astype(np.float32)


# --------------------------------------------------------------------------- runs


def make_member(folder, seed, image_size=32, stride=4, status="finished", input_size=None,
                model="unet", constant_ab=None, ab_per_l=(0.0, 0.0)):
    """A finished run folder like train.py leaves: a small random network and its config
    (input_size: a network that accepts only that square size; constant_ab: a network that
    predicts that model output, (a, b)/128, everywhere instead, plus ab_per_l times its
    input)."""
    import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((input_size, input_size, 1))
    if constant_ab is None:
        x = layers.Conv2D(4, 3, strides=stride, padding="same", activation="relu")(inputs)
        x = layers.UpSampling2D(stride)(x)
        outputs = layers.Conv2D(2, 1, activation="tanh")(x)
    else:
        outputs = layers.Conv2D(2, 1, kernel_initializer=keras.initializers.Constant(ab_per_l),
                                bias_initializer=keras.initializers.Constant(constant_ab))(inputs)
    folder.mkdir(parents=True)
    keras.Model(inputs, outputs).save(folder / "model.keras")
    config = {"model": model, "preset": "seed", "loss": "mse", "seed": seed, "status": status,
              "image_size": image_size, "stride": stride, "best_val_loss": 0.01 * seed}
    (folder / "config.json").write_text(json.dumps(config))
    return folder
