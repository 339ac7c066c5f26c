"""train.py --distribute: two workers on 127.0.0.1 agree, resume after a kill, fail when alone."""

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cpu  # noqa: F401, I001  (before TensorFlow, as every entry point does)
import keras
import pytest

import dataset
import distributed
import models
import runs
import train
from test_train import history_epochs, write_ramp_dataset

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 3
WAIT = 400  # seconds before a worker that never finishes fails the test


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def worker_env(ports, index):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker",
                                                                   "index": index}})}


def command(data, runs, *extra):
    return [sys.executable, "train.py", "--model", "autoencoder", "--width", "0.5",
            "--data", str(data), "--runs", str(runs), "--epochs", str(EPOCHS),
            "--batch-size", "8", "--learning-rate", "0.003", "--precision", "float32",
            "--verbose", "2", "--distribute", "multiworker", *extra]


def start_workers(data, runs, logs, *extra):
    ports = free_ports(2)
    return [subprocess.Popen(command(data, runs, *extra), cwd=ROOT, env=worker_env(ports, index),
                             stdout=open(log, "w"), stderr=subprocess.STDOUT)
            for index, log in enumerate(logs)]


def fingerprints(log):
    """{epoch: fingerprint} as the worker printed them."""
    return {int(epoch): value for epoch, value in
            re.findall(r"epoch (\d+): weights fingerprint (\w+)", Path(log).read_text())}


@pytest.fixture(scope="module")
def ramp_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "ramp"
    write_ramp_dataset(folder, count=40)
    return folder


@pytest.fixture(scope="module")
def killed_and_resumed(ramp_data, tmp_path_factory):
    """Two workers; worker 1 is SIGKILLed after epoch 1 (once the chief has backed it up and
    both have printed a fingerprint), the chief too; then both restart."""
    tmp = tmp_path_factory.mktemp("multiworker")
    runs, run_dir = tmp / "runs", tmp / "runs" / "autoencoder-seed-mse-s0"
    metadata = run_dir / "backup" / "training_metadata.json"
    first_logs = [tmp / "first0.log", tmp / "first1.log"]
    first = start_workers(ramp_data, runs, first_logs)
    try:
        deadline = time.monotonic() + WAIT
        while (not (metadata.exists() and all(fingerprints(log) for log in first_logs))
               and all(p.poll() is None for p in first) and time.monotonic() < deadline):
            time.sleep(0.02)
        first[1].send_signal(signal.SIGKILL)
        first[0].send_signal(signal.SIGKILL)
    finally:
        for process in first:
            process.wait()
    finished_epochs = json.loads(metadata.read_text())["epoch"]
    logs = [tmp / "second0.log", tmp / "second1.log"]
    second = start_workers(ramp_data, runs, logs)
    codes = [process.wait(timeout=WAIT) for process in second]
    return {"run_dir": run_dir, "codes": codes, "logs": logs, "first_logs": first_logs,
            "killed_after": finished_epochs}


def test_both_workers_finish(killed_and_resumed):
    logs = killed_and_resumed["logs"]
    assert killed_and_resumed["codes"] == [0, 0], [log.read_text()[-2000:] for log in logs]


def test_workers_end_every_epoch_with_identical_weights(killed_and_resumed):
    chief, worker = (fingerprints(log) for log in killed_and_resumed["logs"])
    assert max(chief) == EPOCHS and chief == worker
    # and before the kill: on every epoch both workers reached
    chief, worker = (fingerprints(log) for log in killed_and_resumed["first_logs"])
    both = chief.keys() & worker.keys()
    assert both, "the first run's workers printed no common epoch"
    assert {epoch: chief[epoch] for epoch in both} == {epoch: worker[epoch] for epoch in both}


def test_chief_model_file_holds_the_best_epochs_weights(killed_and_resumed):
    run_dir = killed_and_resumed["run_dir"]
    config = json.loads((run_dir / "config.json").read_text())
    model = keras.saving.load_model(run_dir / "model.keras")
    printed = fingerprints(killed_and_resumed["logs"][1])  # the non-chief worker's
    assert distributed.weights_fingerprint(model) == printed[config["best_epoch"]]


def test_only_the_chief_writes_the_run_folder(killed_and_resumed):
    runs = killed_and_resumed["run_dir"].parent
    assert [path.name for path in runs.iterdir()] == ["autoencoder-seed-mse-s0"]
    assert sorted(path.name for path in killed_and_resumed["run_dir"].iterdir()) == [
        "config.json", "history.csv", "model.keras"]


def test_killed_job_resumes_at_the_next_epoch_with_each_epoch_once(killed_and_resumed):
    run_dir, killed_after = killed_and_resumed["run_dir"], killed_and_resumed["killed_after"]
    assert 1 <= killed_after < EPOCHS, "the kill must land after epoch 1 and before the end"
    chief_log = killed_and_resumed["logs"][0].read_text()
    assert f"at epoch {killed_after + 1} of {EPOCHS}" in chief_log
    assert min(fingerprints(killed_and_resumed["logs"][0])) == killed_after + 1
    assert history_epochs(run_dir) == list(range(EPOCHS))


def test_training_loss_falls(killed_and_resumed):
    with open(killed_and_resumed["run_dir"] / "history.csv", newline="") as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    assert losses[-1] < losses[0]


def test_worker_whose_peer_never_comes_up_fails_with_a_clear_error(ramp_data, tmp_path):
    result = subprocess.run(command(ramp_data, tmp_path, "--peer-timeout", "5"), cwd=ROOT,
                            env=worker_env(free_ports(2), 0), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    assert "did not come up within --peer-timeout 5 s" in result.stderr
    assert not (tmp_path / "autoencoder-seed-mse-s0" / "model.keras").exists()


def test_mirrored_on_one_device_trains_like_model_fit(ramp_data, tmp_path):
    # All 30 training images in one batch (no flips): both paths take the very same steps.
    base = ["--model", "resnet", "--width", "0.5", "--data", str(ramp_data), "--epochs", "2",
            "--batch-size", "30", "--precision", "float32", "--verbose", "0", "--no-flip"]
    results = {}
    for mode in ("none", "mirrored"):
        runs = tmp_path / mode
        config = train.train(train.parse_args([*base, "--runs", str(runs), "--distribute", mode]))
        with open(runs / "resnet-seed-mse-s0" / "history.csv", newline="") as f:
            results[mode] = list(csv.DictReader(f)), config
    (fit_rows, _), (loop_rows, loop_config) = results["none"], results["mirrored"]
    assert [row.keys() for row in loop_rows] == [row.keys() for row in fit_rows]
    for fit_row, loop_row in zip(fit_rows, loop_rows):
        for column in ("loss", "val_loss"):
            assert float(loop_row[column]) == pytest.approx(float(fit_row[column]), rel=1e-4)
    assert loop_config["status"] == "finished" and loop_config["distribute"] == "mirrored"


def test_other_workers_train_nothing_where_the_chief_has_nothing_to_train(tmp_path):
    # Its training ended but a kill came before config.json said finished: the chief only
    # records the results, and a worker that began training would wait for it forever.
    assert not distributed.nothing_to_train(tmp_path, EPOCHS)  # no run yet
    runs.write_config(tmp_path, {"status": "running"})
    (tmp_path / "backup").mkdir()
    metadata = tmp_path / "backup" / runs.BACKUP_METADATA
    metadata.write_text(json.dumps({"epoch": 1, "batch": 0}))
    assert not distributed.nothing_to_train(tmp_path, EPOCHS)
    metadata.write_text(json.dumps({"epoch": 1, "batch": 0, "ended": True}))  # --patience
    assert distributed.nothing_to_train(tmp_path, EPOCHS)
    runs.remove_backup(tmp_path)
    runs.write_config(tmp_path, {"status": "finished"})
    assert distributed.nothing_to_train(tmp_path, EPOCHS)


def test_a_broken_config_json_stops_the_chief_with_its_message(tmp_path):
    (tmp_path / "config.json").write_text('{"status": "runn')
    with pytest.raises(SystemExit, match=r"^train.py: .*config.json: cannot read it"):
        distributed.nothing_to_train(tmp_path, EPOCHS)


def test_resumed_workers_stop_together_where_patience_runs_out(ramp_data, tmp_path):
    # The chief's run stands at epoch 2 of 4, one epoch past its best; --patience 2 ends it
    # after epoch 3. A worker that counted from 0 would train epoch 4 alone and wait forever.
    extra = ["--epochs", "4", "--patience", "2"]
    config = train.parse_args(command(ramp_data, tmp_path / "runs", *extra)[2:])
    run_dir = config.run_dir
    runs.open_run_dir(run_dir, config.arguments(), dataset.read_meta(ramp_data),
                      stride=models.total_stride("autoencoder"), policy="float32")
    with open(run_dir / runs.HISTORY_FILE, "w", newline="") as f:
        f.write("epoch,loss,val_loss\n0,1.0,0.0\n1,1.0,1.0\n")  # no later val_loss is lower
    (run_dir / runs.BACKUP_DIR).mkdir()
    (run_dir / runs.BACKUP_DIR / runs.BACKUP_METADATA).write_text('{"epoch": 2, "batch": 0}')
    logs = [tmp_path / "worker0.log", tmp_path / "worker1.log"]
    workers = start_workers(ramp_data, tmp_path / "runs", logs, *extra)
    try:
        codes = [process.wait(timeout=WAIT) for process in workers]
    finally:
        for process in workers:
            process.kill()
            process.wait()
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    assert history_epochs(run_dir) == [0, 1, 2]
    chief, worker = (fingerprints(log) for log in logs)
    assert list(chief) == [3] and chief == worker
