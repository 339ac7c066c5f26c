"""Does a trained network know the light of a scene? A linear probe of its features.

A sunset's colour is a decision about the whole scene, which a network makes from L alone. This
tool asks whether a network's features hold that decision, on the landscapes it learnt from and
on photos: it averages each layer's activations over the image, fits a linear classifier
(softmax regression) to those averages to name the generator's sky kind of each training
landscape (clear, hazy, overcast, sunset), reports its accuracy on the validation landscapes,
then shows what it calls each photo, averaged over the runs given:

    python tools/sky_probe.py runs/model-members/member-s1 runs/model-members/member-s2 \\
        --data data/mountains-model --photos photos

High accuracy on the landscapes with the photos' sunsets called something else says that the
scene-level cue the network learnt is the generator's own, and does not reach photos.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cli  # noqa: E402
import cpu  # noqa: E402,F401  (TensorFlow's CPU settings: before it loads)
import dataset  # noqa: E402
import evaluate  # noqa: E402
import lab  # noqa: E402
import mountains  # noqa: E402
import runs  # noqa: E402

BATCH = 64
L2 = 0.3  # the weight penalty per example: the best of 1e-4 to 3 on the validation landscapes


def sky_labels(meta, split):
    """The index in mountains.SKIES of the sky of each member of a built-in dataset's split."""
    try:
        scenes = dataset.member_scenes(meta, split)
    except dataset.DatasetError as error:
        raise SystemExit(f"sky_probe.py: --data: {error}") from None
    return np.array([mountains.SKIES.index(scene.sky) for scene in scenes])


def labelled_split(data, meta, split):
    """(L, sky labels) of a split of the built-in landscapes at `data`; an empty one is refused
    before any network loads (dataset.py --split can leave train or val empty, and the probe
    learns on the one and is scored on the other)."""
    lightness = dataset.load_split(data, split)[0]
    if len(lightness) == 0:
        raise SystemExit(f"sky_probe.py: --data {data}: its {split} split is empty; the probe "
                         "learns on train and is scored on val")
    return lightness, sky_labels(meta, split)


def check_run(folder):
    """Refuse a folder that is not a finished run of a single network before any run is probed:
    an ensemble's network holds its members', whose features are theirs (ensemble.py records
    them in its config.json)."""
    try:
        config = runs.read_finished_run(folder)
    except runs.RunError as error:
        raise SystemExit(f"sky_probe.py: {error}") from None
    if "members" in config:
        raise SystemExit(f"sky_probe.py: {folder} is an ensemble of {len(config['members'])} "
                         "runs (ensemble.py); probe its members' run folders one by one")


def pooled_feature_model(model):
    """L/50-1 in, every layer's activations averaged over the image out, side by side."""
    import keras

    if any(isinstance(layer, keras.Model) for layer in model.layers):
        raise SystemExit(f"sky_probe.py: {model.name} holds other models (an ensemble); "
                         "probe its members' run folders one by one")
    maps = [layer.output for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer) and len(layer.output.shape) == 4]
    pooled = [keras.layers.GlobalAveragePooling2D(dtype="float32", name=f"probe_pool_{i}")(x)
              for i, x in enumerate(maps)]
    return keras.Model(model.input, keras.layers.Concatenate(name="probe_features")(pooled))


def pooled_features(feature_model, lightness):
    """(N, features) for L in 0..100 of shape (N, H, W, 1), read in batches."""
    return np.concatenate([feature_model.predict(lab.encode_l(np.asarray(lightness[s:s + BATCH])),
                                                 verbose=0)
                           for s in range(0, len(lightness), BATCH)])


def softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def fit_probe(features, labels, classes, l2=L2):
    """Softmax regression on standardised features, fitted to convergence (L-BFGS on the mean
    cross-entropy plus l2/2 times the squared weights): (N, F) -> class probabilities.

    Deterministic, and as well fitted for 300 examples as for 3,000: an optimizer run for a
    fixed number of epochs would be neither."""
    from scipy.optimize import minimize  # scikit-image's dependency

    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6

    def with_bias(x):
        return np.hstack([(x - mean) / scale, np.ones((len(x), 1))])

    inputs, targets = with_bias(features), np.eye(classes)[labels]
    shape = (inputs.shape[1], classes)

    def loss_and_gradient(flat):
        weights = flat.reshape(shape)
        probabilities = softmax(inputs @ weights)
        penalty = weights.copy()
        penalty[-1] = 0.0  # the bias is not shrunk
        loss = -np.mean(np.sum(targets * np.log(probabilities + 1e-12), axis=1))
        gradient = inputs.T @ (probabilities - targets) / len(inputs) + l2 * penalty
        return loss + 0.5 * l2 * np.sum(penalty ** 2), gradient.ravel()

    fitted = minimize(loss_and_gradient, np.zeros(np.prod(shape)), jac=True, method="L-BFGS-B",
                      options={"maxiter": 1000})
    weights = fitted.x.reshape(shape)
    return lambda x: softmax(with_bias(x) @ weights)


def probe_run(folder, train, val, photo_lightness):
    """(accuracy on the validation landscapes, sky probabilities of each photo) of one run;
    train and val are (L, sky labels)."""
    import keras

    model = keras.saving.load_model(Path(folder) / runs.MODEL_FILE, compile=False)
    features = pooled_feature_model(model)
    probe = fit_probe(pooled_features(features, train[0]), train[1], len(mountains.SKIES))
    accuracy = float(np.mean(probe(pooled_features(features, val[0])).argmax(axis=1) == val[1]))
    return accuracy, probe(pooled_features(features, photo_lightness))


def report(folders, accuracies, chance, photo_ids, probabilities):
    """The text the tool prints: each run's accuracy, then each photo's mean probabilities."""
    lines = [f"accuracy on the validation landscapes (the most common sky alone: {chance:.3f})"]
    lines += [f"{accuracy:.3f}  {folder}" for folder, accuracy in zip(folders, accuracies)]
    lines += ["", f"{'photo':24s}" + "".join(f"{sky:>10s}" for sky in mountains.SKIES)]
    rows = list(zip(photo_ids, probabilities)) + [("mean over the photos",
                                                   probabilities.mean(axis=0))]
    lines += [f"{str(name):24s}" + "".join(f"{p:10.2f}" for p in row) for name, row in rows]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path,
                        help="finished train.py run folders of single networks")
    parser.add_argument("--data", type=Path, default=Path("data/mountains-model"),
                        help="built-in landscapes: the probe learns on their train split and is "
                             "scored on their validation split")
    parser.add_argument("--photos", type=Path, default=Path("photos"),
                        help="the photos whose sky kind the probe is asked for")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not args.photos.is_dir():  # before the landscapes are read and any network loads
        raise SystemExit(f"sky_probe.py: --photos {args.photos}: no such folder of photos")
    try:
        meta = dataset.read_meta(args.data)
        train, val = (labelled_split(args.data, meta, split) for split in ("train", "val"))
    except dataset.DatasetError as error:
        raise SystemExit(f"sky_probe.py: {error}") from None
    for folder in args.runs:
        check_run(folder)
    photos = evaluate.load_photos(args.photos, int(meta["size"]))  # as the landscapes are
    results = [probe_run(folder, train, val, photos.lightness)
               for folder in args.runs]
    chance = np.bincount(val[1], minlength=len(mountains.SKIES)).max() / len(val[1])
    print(report(args.runs, [accuracy for accuracy, _ in results], chance, photos.ids,
                 np.mean([probabilities for _, probabilities in results], axis=0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
