"""train.py: it learns, it resumes after SIGKILL, it refuses mixed runs, its models stand alone;
with --loss classification it keeps colours that regression averages to gray."""

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cpu  # noqa: F401, I001  (before TensorFlow, as every entry point does)
import keras
import numpy as np
import pytest

import ab_classes
import callbacks
import dataset
import ensemble
import helpers
import lab
import runs
import train
import training

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32
# A ramp from dark blue to light orange: the colour is a function of lightness, easy to learn.
DARK, LIGHT = np.array([0.10, 0.15, 0.55]), np.array([0.95, 0.65, 0.25])


def ramp_image(rng):
    """Smooth stripes of random direction and frequency, coloured by the ramp."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    angle, frequency, phase = rng.uniform(0, np.pi), rng.uniform(1, 4), rng.uniform(0, 2 * np.pi)
    t = 0.5 + 0.5 * np.sin(2 * np.pi * frequency * (x * np.cos(angle) + y * np.sin(angle)) + phase)
    rgb = DARK + t[..., None] * (LIGHT - DARK)
    return np.round(rgb * 255).astype(np.uint8)


def write_ramp_dataset(folder, count=64, seed=0):
    rng = np.random.default_rng(seed)
    images = [ramp_image(rng) for _ in range(count)]
    return helpers.write_images(folder, images, [f"ramp-{i}" for i in range(count)],
                                "test ramp", (0.7, 0.3, 0.0))


@pytest.fixture(scope="module")
def ramp_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "ramp"
    write_ramp_dataset(folder)
    return folder


def train_args(data, runs, *extra):
    return ["--model", "resnet", "--data", str(data), "--runs", str(runs), "--verbose", "0",
            "--learning-rate", "0.003", *extra]


@pytest.fixture(scope="module")
def finished_run(ramp_data, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    args = train_args(ramp_data, runs, "--epochs", "8", "--precision", "float32")
    config = train.train(train.parse_args(args))
    return runs / "resnet-seed-mse-s0", args, config


def history_epochs(run_dir):
    with open(run_dir / "history.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_training_beats_the_gray_baseline_on_a_learnable_colour_rule(ramp_data, finished_run):
    _, val_ab = dataset.load_split(ramp_data, "val")
    gray_baseline = float(np.mean(lab.encode_ab(val_ab) ** 2))  # MSE of predicting ab = 0
    _, _, config = finished_run
    assert config["best_val_loss"] < 0.3 * gray_baseline


def test_run_folder_holds_model_history_and_config(ramp_data, finished_run):
    run_dir, _, config = finished_run
    meta = dataset.read_meta(ramp_data)
    assert history_epochs(run_dir) == list(range(8))
    assert config["dataset_checksum"] == meta["checksum"]
    assert (config["image_size"], config["stride"], config["model"]) == (SIZE, 1, "resnet")
    assert json.loads((run_dir / "config.json").read_text())["status"] == "finished"
    assert not (run_dir / "backup").exists()  # deleted once config.json said finished
    model_file = run_dir / runs.MODEL_FILE
    assert model_file.is_file() and zipfile.is_zipfile(model_file)  # a .keras file is a zip


def predict_in_a_fresh_process(model_path, x, folder):
    """Plain keras.saving.load_model (safe mode) outside the project: no project module."""
    np.save(folder / "x.npy", x)
    script = ("import sys, keras, numpy as np\n"
              "model = keras.saving.load_model(sys.argv[1])\n"
              "np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))\n")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", script, str(model_path), str(folder / "x.npy"),
                    str(folder / "y.npy")], cwd=folder, env=environment, check=True,
                   capture_output=True)
    return np.load(folder / "y.npy")


def test_saved_model_loads_in_a_fresh_process_and_predicts_the_same(finished_run, tmp_path):
    run_dir, _, _ = finished_run
    x = np.linspace(-1, 1, 2 * SIZE * SIZE, dtype=np.float32).reshape(2, SIZE, SIZE, 1)
    fresh = predict_in_a_fresh_process(run_dir / "model.keras", x, tmp_path)
    here = keras.saving.load_model(run_dir / "model.keras").predict(x, verbose=0)
    assert fresh.dtype == np.float32 and fresh.shape == (2, SIZE, SIZE, 2)
    np.testing.assert_allclose(fresh, here, atol=1e-6)


def test_rerun_with_other_arguments_is_refused(finished_run):
    _, args, _ = finished_run
    with pytest.raises(SystemExit) as error:
        train.main(args[:-2] + ["--precision", "bfloat16"])
    assert "other arguments" in str(error.value.code) and "--precision" in str(error.value.code)


def test_rerun_of_a_finished_run_changes_nothing(finished_run, capsys):
    run_dir, args, _ = finished_run
    model_bytes = (run_dir / "model.keras").read_bytes()
    assert train.main(args) == 0
    assert "already finished" in capsys.readouterr().out
    assert (run_dir / "model.keras").read_bytes() == model_bytes
    assert history_epochs(run_dir) == list(range(8))


def test_tensorboard_added_when_rerun_does_not_count_as_other_arguments(finished_run, capsys):
    run_dir, args, _ = finished_run
    assert train.main(args + ["--tensorboard"]) == 0
    assert "already finished" in capsys.readouterr().out


def test_a_broken_config_json_stops_train_with_its_message(ramp_data, tmp_path):
    args = train_args(ramp_data, tmp_path, "--epochs", "1")
    run_dir = tmp_path / "resnet-seed-mse-s0"
    run_dir.mkdir()
    (run_dir / "config.json").write_text('{"model": "resnet", "epo')  # a full disk cut it
    with pytest.raises(SystemExit, match=r"^train.py: .*config.json: cannot read it"):
        train.main(args)


def test_run_killed_after_training_before_it_was_marked_finished_keeps_its_model(finished_run,
                                                                                tmp_path, capsys):
    # What a kill left when the backup went before config.json said "finished": every epoch
    # in history.csv, status "running", no backup. Starting over would overwrite model.keras.
    run_dir, args, config = finished_run
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    killed = {key: value for key, value in config.items()
              if key not in ("best_val_loss", "best_epoch", "epochs_run", "images_per_second")}
    (copy / "config.json").write_text(json.dumps({**killed, "runs": str(tmp_path),
                                                  "status": "running"}))
    model_bytes = (copy / "model.keras").read_bytes()
    runs_at = args.index("--runs") + 1
    assert train.main(args[:runs_at] + [str(tmp_path)] + args[runs_at + 1:]) == 0
    assert "0 in this call" in capsys.readouterr().out
    assert (copy / "model.keras").read_bytes() == model_bytes
    assert history_epochs(copy) == list(range(8))
    finished = json.loads((copy / "config.json").read_text())
    assert finished["status"] == "finished"
    assert finished["best_val_loss"] == config["best_val_loss"]


def test_a_resumed_run_keeps_the_precision_it_started_in(ramp_data, tmp_path, capsys):
    # --precision auto resolves per machine; the run began on one where it chose the other.
    config = train.parse_args(train_args(ramp_data, tmp_path, "--epochs", "1",
                                         "--batch-size", "16"))
    assert config.precision == "auto"
    here = training.resolve_precision("auto")
    other = "float32" if here == "mixed_bfloat16" else "mixed_bfloat16"
    runs.open_run_dir(config.run_dir, config.arguments(), dataset.read_meta(ramp_data),
                      stride=1, policy=other)
    seen = []

    def fit(config, run, train_arrays, val_arrays):
        seen.append(keras.mixed_precision.global_policy().name)
        return train.fit_on_one_device(config, run, train_arrays, val_arrays)

    record = training.train_into_run(config, fit)
    assert seen == [other] and record["policy"] == other
    assert f"precision {other}, as the run started" in capsys.readouterr().out


@pytest.mark.parametrize("option", [["--xla"], ["--steps-per-execution", "4"]])
def test_fit_only_options_are_refused_under_distribute(option, capsys):
    with pytest.raises(SystemExit) as error:
        train.parse_args(["--model", "unet", "--distribute", "mirrored", *option])
    assert error.value.code == 2 and "distributed.py" in capsys.readouterr().err


def test_epochs_since_best_counts_what_patience_waited_through_before_a_resume():
    rows = [{"val_loss": str(loss)} for loss in (0.5, 0.4, 0.45, 0.47)]
    assert training.epochs_since_best(rows) == 2
    assert training.epochs_since_best(rows[:2]) == 0
    assert training.epochs_since_best([]) == 0


def test_a_nan_val_loss_is_never_the_best_epoch():
    # BestModelCheckpoint never saves a NaN epoch: config.json must not name it either.
    def rows(*val_losses):
        return [{"epoch": str(epoch), "loss": "0.1", "val_loss": str(loss)}
                for epoch, loss in enumerate(val_losses)]

    for history, best_epoch, best_val_loss in [(rows(1.0, math.nan, 0.5), 3, 0.5),
                                               (rows(math.nan, 2.0, 1.0), 3, 1.0),
                                               (rows(0.4, math.nan, 0.5), 1, 0.4)]:
        results = training.results_of(history, "run")
        assert (results["best_epoch"], results["best_val_loss"]) == (best_epoch, best_val_loss)
        assert training.best_row(history) == (best_epoch - 1, best_val_loss)
        assert training.epochs_since_best(history) == len(history) - best_epoch
    assert training.best_row(rows(math.nan)) == (None, math.inf)
    assert training.epochs_since_best(rows(math.nan, math.nan)) == 2
    with pytest.raises(SystemExit, match="diverged"):
        training.results_of(rows(math.nan), "run")


@pytest.mark.parametrize("value", ["0", "-2"])
def test_steps_per_execution_below_one_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--model", "unet", "--steps-per-execution", value])
    assert exit_info.value.code == 2
    assert "--steps-per-execution must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_a_seed_keras_cannot_take_is_a_usage_error_before_the_run_folder_is_made(
        seed, ramp_data, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(train_args(ramp_data, tmp_path / "runs", "--epochs", "1", "--seed", seed))
    assert exit_info.value.code == 2 and "--seed must be in 0..2**32-1" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("inside", ["", "sub"])
def test_runs_naming_or_inside_a_file_is_a_usage_error(ramp_data, tmp_path, capsys, inside):
    runs = tmp_path / "runs.txt"
    runs.write_text("not a folder")
    with pytest.raises(SystemExit) as exit_info:
        train.main(train_args(ramp_data, runs / inside, "--epochs", "1"))
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"--runs {runs / inside} " in error
    assert f"{runs} is a file" in error
    assert runs.read_text() == "not a folder"


@pytest.mark.parametrize("run", ["../escaped", "..", ".", "inner/run"])
def test_a_run_name_that_is_not_a_plain_folder_name_is_a_usage_error(run, ramp_data, tmp_path,
                                                                     capsys):
    runs = tmp_path / "runs" / "inside"
    with pytest.raises(SystemExit) as exit_info:
        train.main(train_args(ramp_data, runs, "--epochs", "1", "--batch-size", "16",
                              "--run", run))
    assert exit_info.value.code == 2 and "must be a plain folder name" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_both_training_paths_take_the_augmentation_from_the_config():
    config = train.parse_args(["--model", "unet", "--no-flip", "--tone", "0.3", "--hue", "10",
                               "--sharpen", "0.5", "--seed", "4"])
    assert training.augmentation_of(config) == dict(shuffle=True, flip=False, tone=0.3, hue=10.0,
                                                    sharpen=0.5, seed=4)


def test_run_on_a_changed_dataset_is_refused(tmp_path):
    data, runs = tmp_path / "data", tmp_path / "runs"
    write_ramp_dataset(data, count=12, seed=1)
    args = train_args(data, runs, "--epochs", "1", "--batch-size", "4")
    train.main(args)
    write_ramp_dataset(data, count=12, seed=2)
    with pytest.raises(SystemExit) as error:
        train.main(args)
    assert "checksum" in str(error.value.code)


def test_missing_dataset_is_a_clear_error_with_nonzero_exit(tmp_path):
    result = subprocess.run([sys.executable, "train.py", *train_args(tmp_path / "nothing",
                                                                     tmp_path / "runs")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert "no dataset at" in result.stderr and "dataset.py" in result.stderr


def test_dataset_pipeline_flips_l_and_ab_together():
    lightness = np.arange(4 * 8 * 8, dtype=np.float32).reshape(4, 8, 8, 1)
    ab = np.concatenate([lightness, -lightness], axis=-1)
    seen_flipped = seen_plain = False
    for x, y in training.make_dataset(lightness, ab, 4, shuffle=True, flip=True, seed=3).repeat(5):
        x, y = helpers.decode_l(x.numpy()), lab.decode_ab(y.numpy())
        np.testing.assert_allclose(y[..., :1], x, rtol=1e-5)
        seen_flipped |= bool(np.any(x[:, 0, 0, 0] % 8 == 7))
        seen_plain |= bool(np.any(x[:, 0, 0, 0] % 8 == 0))
    assert seen_flipped and seen_plain


def test_tone_curve_changes_l_monotonically_and_leaves_ab_alone():
    lightness = np.linspace(0.0, 100.0, 4 * 8 * 8, dtype=np.float32).reshape(4, 8, 8, 1)
    ab = np.concatenate([lightness - 50.0, 50.0 - lightness], axis=-1)
    gammas = []
    for x, y in training.make_dataset(lightness, ab, 4, tone=0.5, seed=1).repeat(6):
        x, y = helpers.decode_l(x.numpy()), lab.decode_ab(y.numpy())
        np.testing.assert_allclose(y, ab, atol=1e-3)  # the colours are the truth's
        for image, truth in zip(x[..., 0], lightness[..., 0]):
            assert np.all(np.diff(image.ravel()) >= -1e-3)  # a tone curve keeps the order
            inside = (truth > 5) & (truth < 95)
            gammas.append(np.median(np.log(image[inside] / 100) / np.log(truth[inside] / 100)))
    assert min(gammas) >= np.exp(-0.5) - 1e-3 and max(gammas) <= np.exp(0.5) + 1e-3
    assert max(gammas) - min(gammas) > 0.3  # each image gets its own curve


def test_hue_randomisation_turns_ab_and_keeps_chroma_and_l():
    lightness = np.linspace(0.0, 100.0, 4 * 8 * 8, dtype=np.float32).reshape(4, 8, 8, 1)
    ab = np.stack([np.full((4, 8, 8), 30.0), np.full((4, 8, 8), 10.0)], axis=-1).astype(np.float32)
    angles = []
    for x, y in training.make_dataset(lightness, ab, 4, hue=40.0, seed=2).repeat(6):
        x, y = helpers.decode_l(x.numpy()), lab.decode_ab(y.numpy())
        np.testing.assert_allclose(x, lightness, atol=1e-3)  # L is the truth's
        np.testing.assert_allclose(np.hypot(y[..., 0], y[..., 1]), np.hypot(30.0, 10.0),
                                   rtol=1e-4)  # chroma too
        turn = np.degrees(np.arctan2(y[..., 1], y[..., 0]) - np.arctan2(10.0, 30.0))
        assert np.ptp(turn.reshape(4, -1), axis=1).max() < 1e-2  # one angle per image
        angles.extend(turn[:, 0, 0])
    assert max(np.abs(angles)) <= 40.0 + 1e-3
    assert max(angles) - min(angles) > 30.0  # each image gets its own angle


def test_sharpening_steepens_l_edges_by_a_random_amount_and_leaves_ab_alone():
    rows = np.where(np.arange(8) < 4, 40.0, 60.0).astype(np.float32)  # one horizontal edge
    lightness = np.broadcast_to(rows[None, :, None, None], (4, 8, 8, 1)).copy()
    ab = np.full((4, 8, 8, 2), 12.0, np.float32)
    steps = []
    for x, y in training.make_dataset(lightness, ab, 4, sharpen=2.0, seed=4).repeat(6):
        x, y = helpers.decode_l(x.numpy()), lab.decode_ab(y.numpy())
        np.testing.assert_allclose(y, ab, atol=1e-3)  # the colours are the truth's
        np.testing.assert_allclose(x[:, 0], 40.0, atol=1e-3)  # flat rows, mirrored edges: kept
        np.testing.assert_allclose(x[:, :, 0], x[:, :, 5], atol=1e-3)  # no dark border
        steps.extend(x[:, 4, 0, 0] - x[:, 3, 0, 0])
    # the blur halves the edge's first step: sharpened by k it is 20 + k * 10, k in [0, 2]
    assert min(steps) >= 20.0 - 1e-3 and max(steps) <= 40.0 + 1e-3
    assert max(steps) - min(steps) > 10.0  # each image gets its own amount


def test_flip_tone_and_hue_are_drawn_independently():
    lightness = np.full((256, 4, 4, 1), 50.0, np.float32)
    lightness[:, :, 0] = 20.0  # a dark left column shows which images were mirrored
    ab = np.zeros((256, 4, 4, 2), np.float32)
    ab[..., 0] = 30.0
    x, y = next(iter(training.make_dataset(lightness, ab, 256, flip=True, tone=0.5, hue=40.0,
                                           seed=5)))
    x, y = helpers.decode_l(x.numpy()), lab.decode_ab(y.numpy())
    mirrored = x[:, 0, 3, 0] < x[:, 0, 0, 0]
    darker = x[:, 0, 1, 0] < 50.0  # gamma > 1
    turned_down = y[:, 0, 0, 1] < 0
    for other in (darker, turned_down):
        assert 0.3 < np.mean(mirrored == other) < 0.7


def test_dataset_pipeline_visits_every_image_once_per_epoch():
    lightness = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) * np.ones((1, 4, 4, 1))
    ab = np.zeros((10, 4, 4, 2), np.float32)
    data = training.make_dataset(lightness.astype(np.float32), ab, 3, shuffle=True, seed=0)
    for _ in range(2):
        values = np.concatenate([helpers.decode_l(x.numpy())[:, 0, 0, 0] for x, _ in data])
        assert sorted(np.round(values).astype(int)) == list(range(10))


def test_killed_run_resumes_at_the_next_epoch_with_each_epoch_once(ramp_data, tmp_path):
    epochs = 6
    command = [sys.executable, "train.py", *train_args(ramp_data, tmp_path, "--epochs",
                                                       str(epochs), "--precision", "float32")]
    run_dir = tmp_path / "resnet-seed-mse-s0"
    metadata = run_dir / "backup" / "training_metadata.json"
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not metadata.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    finished = json.loads(metadata.read_text())["epoch"]
    assert 1 <= finished < epochs, "the kill must land after epoch 1 and before the end"

    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"resuming {run_dir} at epoch {finished + 1} of {epochs}" in result.stdout
    assert history_epochs(run_dir) == list(range(epochs))


def test_cosine_learning_rate_falls_from_the_given_rate_to_zero_over_all_epochs():
    config = train.parse_args(["--model", "unet", "--epochs", "4", "--learning-rate", "0.01",
                               "--cosine"])
    schedule = training.learning_rate_of(config, steps_per_epoch=5)
    assert float(schedule(0)) == pytest.approx(0.01)
    assert float(schedule(10)) == pytest.approx(0.005)
    assert float(schedule(20)) == pytest.approx(0.0, abs=1e-9)
    constant = train.parse_args(["--model", "unet", "--learning-rate", "0.01"])
    assert training.learning_rate_of(constant, steps_per_epoch=5) == 0.01
    with pytest.raises(ValueError, match="steps per epoch"):
        training.learning_rate_of(config)


def test_cosine_schedule_resumes_where_the_epoch_backup_left_it(ramp_data, tmp_path):
    config = train.parse_args(train_args(ramp_data, tmp_path, "--epochs", "3", "--cosine",
                                         "--precision", "float32"))
    lightness, ab = dataset.load_split(ramp_data, "train")
    steps = training.steps_per_epoch(len(lightness), config.batch_size)
    trained = training.build_compiled_model(config, steps_per_epoch=steps)
    trained.fit(training.make_dataset(lightness, ab, config.batch_size), epochs=1, shuffle=False,
                verbose=0)
    backup = callbacks.EpochBackup(tmp_path)
    backup.set_model(trained)
    backup.on_epoch_end(0)

    resumed = training.build_compiled_model(config, steps_per_epoch=steps)
    backup.set_model(resumed)
    backup.on_train_begin()
    assert int(resumed.optimizer.iterations) == steps
    rate = float(resumed.optimizer.learning_rate)
    assert rate == pytest.approx(float(trained.optimizer.learning_rate))
    assert 0 < rate < config.learning_rate


def test_cosine_run_records_the_option_and_its_model_loads_safely(ramp_data, tmp_path):
    config = train.train(train.parse_args(train_args(ramp_data, tmp_path, "--epochs", "2",
                                                     "--cosine", "--run", "cosine")))
    assert config["status"] == "finished" and config["cosine"] is True
    model = keras.saving.load_model(tmp_path / "cosine" / "model.keras", safe_mode=True)
    assert model.output_shape == (None, None, None, 2)


def test_weight_decay_shrinks_the_kernels_and_spares_offsets_and_batchnorm(ramp_data, tmp_path):
    lightness, ab = dataset.load_split(ramp_data, "train")

    def one_epoch(*extra):
        config = train.parse_args(train_args(ramp_data, tmp_path, "--model", "unet",
                                             "--precision", "float32", "--learning-rate", "0.01",
                                             *extra))
        keras.utils.set_random_seed(0)
        model = training.build_compiled_model(config)
        model.fit(training.make_dataset(lightness, ab, config.batch_size), epochs=1,
                  shuffle=False, verbose=0)
        return [(w.name, keras.ops.convert_to_numpy(w)) for w in model.weights]

    plain, decayed = one_epoch(), one_epoch("--weight-decay", "20")  # same graph, same order

    def size(weights, names):
        return sum(float(np.sum(array ** 2)) for name, array in weights if name in names)

    assert size(decayed, {"kernel"}) < 0.5 * size(plain, {"kernel"})
    assert size(decayed, {"gamma"}) > 0.5 * size(plain, {"gamma"})  # BatchNorm scales kept
    optimizer = training.build_optimizer("adam", 0.01, weight_decay=20.0)
    assert not any(optimizer._use_weight_decay(keras.Variable(1.0, name=name))
                   for name in training.NOT_DECAYED)
    assert optimizer._use_weight_decay(keras.Variable(1.0, name="kernel"))
    with pytest.raises(SystemExit):
        train.parse_args(train_args(ramp_data, tmp_path, "--weight-decay", "-1"))


# --------------------------------------------------------------------------- classification

TWO_COLOURS = np.array([[-40.0, 40.0], [40.0, -40.0]], np.float32)  # green, purple; mean gray
# Both are bins of the sRGB gamut with their four neighbours, at every L the images use.


def write_two_colour_dataset(folder, patterns=48, seed=11, size=SIZE, colours=TWO_COLOURS):
    """Each L pattern appears once in each of `colours`: nothing in L tells which, so with
    TWO_COLOURS the regression optimum (the mean) is gray, while the true distribution has two
    modes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    images, ids = [], []
    for i in range(patterns):
        fy, fx = rng.uniform(1.0, 4.0, 2)
        lightness = 50.0 + 20.0 * np.sin(2 * np.pi * (fx * x + fy * y) + rng.uniform(0, 2 * np.pi))
        for colour, ab in enumerate(colours):
            lab_image = np.concatenate([lightness[..., None],
                                        np.broadcast_to(ab, (size, size, 2))], axis=-1)
            images.append(lab.lab_to_rgb_uint8(lab_image.astype(np.float32)))
            ids.append(f"pattern-{i}-colour-{colour}")
    return helpers.write_images(folder, images, ids, "test two colours", (0.75, 0.25, 0.0))


def mean_chroma(ab_over_128):
    return float(np.linalg.norm(ab_over_128 * lab.AB_SCALE, axis=-1).mean())


@pytest.fixture(scope="module")
def two_colour_runs(tmp_path_factory):
    """The same network trained by train.py with MSE and with --loss classification.

    The classification run decodes at T = 0.01 (near the mode): with two exactly equally
    likely colours the default annealed mean (T = 0.38) sits between them, by design.
    """
    data = tmp_path_factory.mktemp("data") / "two-colours"
    write_two_colour_dataset(data)
    runs = tmp_path_factory.mktemp("runs")
    common = ["--model", "resnet", "--data", str(data), "--runs", str(runs), "--verbose",
              "0", "--epochs", "5", "--batch-size", "16", "--learning-rate", "0.01",
              "--precision", "float32"]
    train.main(common + ["--loss", "mse"])
    train.main(common + ["--loss", "classification", "--temperature", "0.01"])
    lightness, _ = dataset.load_split(data, "train")
    return {"mse": runs / "resnet-seed-mse-s0",
            "classification": runs / "resnet-seed-classification-s0",
            "x": lab.encode_l(np.asarray(lightness))}


def test_mse_on_two_colour_problem_predicts_near_gray(two_colour_runs):
    model = keras.saving.load_model(two_colour_runs["mse"] / "model.keras")
    assert mean_chroma(model.predict(two_colour_runs["x"], verbose=0)) < 10.0


def test_ab_distance_is_the_euclidean_error_and_favours_the_median_over_the_mean():
    loss = training.build_loss("distance")
    true = np.zeros((1, 2, 2, 2), np.float32)
    pred = np.broadcast_to(np.float32([0.3, 0.4]), (1, 2, 2, 2))
    assert float(loss(true, pred)) == pytest.approx(0.5, abs=1e-5)
    # Two gray pixels and one at 0.5: the median (gray) beats the mean by this loss, not by MSE.
    true = np.float32([[0, 0], [0, 0], [0.5, 0]]).reshape(1, 1, 3, 2)
    median, mean = np.zeros_like(true), np.broadcast_to(true.mean((1, 2), keepdims=True),
                                                        true.shape)
    assert float(loss(true, median)) < float(loss(true, mean))
    mse = training.build_loss("mse")
    assert float(mse(true, mean)) < float(mse(true, median))


def test_distance_loss_paints_the_likelier_colour_where_mse_paints_their_mean(tmp_path):
    """Each pattern twice green (two near shades: identical images would be deduplicated) and
    once purple: MSE learns their mean (chroma 20), the distance loss their geometric median,
    which is a green (chroma 57)."""
    data = tmp_path / "data"
    green, purple = TWO_COLOURS
    write_two_colour_dataset(data, patterns=32, colours=np.stack([green, green + 4, purple]))
    common = ["--model", "resnet", "--data", str(data), "--runs", str(tmp_path / "runs"),
              "--verbose", "0", "--epochs", "5", "--batch-size", "16", "--learning-rate",
              "0.01", "--precision", "float32"]
    x = lab.encode_l(np.asarray(dataset.load_split(data, "train")[0]))
    predictions = {}
    for loss in ("mse", "distance"):
        train.main(common + ["--loss", loss])
        model_path = tmp_path / "runs" / f"resnet-seed-{loss}-s0" / "model.keras"
        predictions[loss] = predict_in_a_fresh_process(model_path, x, tmp_path)  # plain Keras
    mean_ab = {k: (v * lab.AB_SCALE).reshape(-1, 2).mean(0) for k, v in predictions.items()}
    distance_to_green = {k: float(np.linalg.norm(v - green)) for k, v in mean_ab.items()}
    assert distance_to_green["distance"] < 15.0 < distance_to_green["mse"]
    # ensemble.py averages networks of either loss
    ensemble.write_ensemble([tmp_path / "runs" / f"resnet-seed-{loss}-s0" for loss in predictions],
                            tmp_path / "both")
    both = keras.saving.load_model(tmp_path / "both" / "model.keras", safe_mode=True)
    np.testing.assert_allclose(both.predict(x, verbose=0),
                               (predictions["mse"] + predictions["distance"]) / 2, atol=1e-5)


def test_mse_weight_is_for_the_classification_loss_only():
    with pytest.raises(SystemExit):
        train.parse_args(["--model", "unet", "--mse-weight", "1"])  # the default loss is MSE
    with pytest.raises(SystemExit):
        train.parse_args(["--model", "unet", "--loss", "classification", "--mse-weight", "-1"])
    config = train.parse_args(["--model", "unet", "--loss", "classification", "--mse-weight", "2"])
    assert config.mse_weight == 2.0


def test_classification_on_two_colour_problem_predicts_saturated_colours(two_colour_runs):
    """Both colours have chroma 57; near the mode the classifier picks one of them."""
    model = keras.saving.load_model(two_colour_runs["classification"] / "model.keras")
    assert mean_chroma(model.predict(two_colour_runs["x"], verbose=0)) > 40.0


def test_classifier_on_two_colour_problem_splits_its_mass_between_the_two_colours(
        two_colour_runs):
    model = keras.saving.load_model(two_colour_runs["classification"] / "model.keras")
    logits = keras.Model(model.inputs, model.get_layer("ab_logits").output)
    logits = logits.predict(two_colour_runs["x"], verbose=0)
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    bins = ab_classes.read_classes(two_colour_runs["classification"] / "ab_classes.json")["bins"]
    near = np.linalg.norm(bins[:, None] - TWO_COLOURS[None], axis=-1) <= 10.0  # (Q, 2)
    mass_per_colour = probabilities.reshape(-1, len(bins)) @ near
    assert mass_per_colour.min() > 0.2  # both colours stay likely at every pixel


def test_classification_run_records_its_classes(two_colour_runs):
    run_dir = two_colour_runs["classification"]
    config = json.loads((run_dir / "config.json").read_text())
    classes = ab_classes.read_classes(run_dir / runs.CLASSES_FILE)
    assert config["ab_classes"]["file"] == runs.CLASSES_FILE == "ab_classes.json"
    assert config["ab_classes"]["bins"] == len(classes["bins"]) == len(classes["weights"])
    assert (config["ab_classes"]["temperature"], config["ab_classes"]["neighbours"],
            config["ab_classes"]["sigma"], config["ab_classes"]["rebalance_mix"]) == (
        0.01, ab_classes.NEIGHBOURS, ab_classes.SIGMA, ab_classes.MIX)
    assert config["stride"] == 4 and "cross-entropy" in config["loss_description"]


def test_classification_model_loads_in_a_fresh_process_and_outputs_full_size_ab(
        two_colour_runs, tmp_path):
    x = np.linspace(-1, 1, 2 * SIZE * 2 * SIZE, dtype=np.float32).reshape(2, SIZE, 2 * SIZE, 1)
    ab = predict_in_a_fresh_process(two_colour_runs["classification"] / "model.keras", x,
                                    tmp_path)
    assert ab.dtype == np.float32 and ab.shape == (2, SIZE, 2 * SIZE, 2)
    assert np.abs(ab).max() <= 1.0


def test_classification_needs_images_a_multiple_of_four(tmp_path):
    data = tmp_path / "data"
    write_two_colour_dataset(data, patterns=4, size=30)  # fine for the seed ResNet's regression
    with pytest.raises(SystemExit, match="stride 4"):
        train.main(train_args(data, tmp_path / "runs", "--loss", "classification",
                              "--epochs", "1"))


@pytest.mark.parametrize("option", ["--tone", "--hue", "--sharpen"])
def test_augmentation_amounts_may_not_be_negative(option):
    with pytest.raises(SystemExit):
        train.parse_args(["--model", "unet", option, "-0.5"])
    assert getattr(train.parse_args(["--model", "unet", option, "0.5"]),
                   option.lstrip("-")) == 0.5


def test_the_command_lines_are_read_without_loading_tensorflow():
    """train.py and study.py answer --help and usage errors at once: TensorFlow (seconds to
    load) comes in only when a run starts, after cpu.py's settings."""
    code = ("import sys, train, study; train.parse_args(['--model', 'unet']); "
            "study.parse_args(['--seeds', '1']); "
            "print('cpu' in sys.modules, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["True", "False", "False"]
