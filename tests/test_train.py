"""train.py: it learns, it resumes after SIGKILL, it refuses mixed runs, its models stand alone."""

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

import dataset
import lab
import train

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
    items = []
    for i in range(count):
        rgb = ramp_image(rng)
        digest = hashlib.sha256(rgb.tobytes()).hexdigest()
        items.append({"digest": digest, "id": f"ramp-{i}", "rgb": rgb})
    meta = {"source": "test ramp", "size": SIZE, "skipped": [],
            "split": {"rule": "digest", "fractions": [0.7, 0.3, 0.0]}}
    return dataset.write_dataset(folder, items, meta)


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


def test_saved_model_loads_in_a_fresh_process_and_predicts_the_same(finished_run, tmp_path):
    run_dir, _, _ = finished_run
    x = np.linspace(-1, 1, 2 * SIZE * SIZE, dtype=np.float32).reshape(2, SIZE, SIZE, 1)
    np.save(tmp_path / "x.npy", x)
    script = ("import sys, keras, numpy as np\n"
              "model = keras.saving.load_model(sys.argv[1])\n"
              "np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))\n")
    # cwd outside the project: the file must load without any project module.
    subprocess.run([sys.executable, "-c", script, str(run_dir / "model.keras"),
                    str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                   cwd=tmp_path, check=True, capture_output=True)
    fresh = np.load(tmp_path / "y.npy")
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
    for x, y in train.make_dataset(lightness, ab, 4, shuffle=True, flip=True, seed=3).repeat(5):
        x, y = lab.decode_l(x.numpy()), lab.decode_ab(y.numpy())
        np.testing.assert_allclose(y[..., :1], x, rtol=1e-5)
        seen_flipped |= bool(np.any(x[:, 0, 0, 0] % 8 == 7))
        seen_plain |= bool(np.any(x[:, 0, 0, 0] % 8 == 0))
    assert seen_flipped and seen_plain


def test_dataset_pipeline_visits_every_image_once_per_epoch():
    lightness = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) * np.ones((1, 4, 4, 1))
    ab = np.zeros((10, 4, 4, 2), np.float32)
    data = train.make_dataset(lightness.astype(np.float32), ab, 3, shuffle=True, seed=0)
    for _ in range(2):
        values = np.concatenate([lab.decode_l(x.numpy())[:, 0, 0, 0] for x, _ in data])
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
