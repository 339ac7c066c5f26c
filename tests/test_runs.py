"""runs.py: config.json records each argument once, old configs still resume, history.csv keeps
each epoch once, a run whose backup is gone is refused rather than started over, and readers get
a finished run or a message that names the folder, without TensorFlow."""

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import cpu
import recipe
import runs

ROOT = Path(__file__).resolve().parents[1]
DEAD = 2 ** 22 + 12345  # above the default pid_max: no such process
META = {"checksum": "abc123", "size": 32}
ARGUMENTS = {"data": "data/x", "epochs": 3, "model": "resnet", "run": "resnet-seed-mse-s0",
             "seed": 0, "verbose": 1}


def test_new_config_keeps_each_argument_once_at_top_level(tmp_path):
    config = runs.open_run_dir(tmp_path / "run", ARGUMENTS, META, stride=1, policy="float32")
    written = json.loads((tmp_path / "run" / "config.json").read_text())
    assert written == config and "arguments" not in written
    assert {key: written[key] for key in ARGUMENTS} == ARGUMENTS
    assert (written["status"], written["run_name"], written["image_size"], written["stride"],
            written["dataset_checksum"]) == ("running", "resnet-seed-mse-s0", 32, 1, "abc123")
    assert written["cpu_kind"] == cpu.kind()  # the machine tools/variants.py's rows name


def test_reopening_with_the_same_arguments_returns_the_config(tmp_path):
    first = runs.open_run_dir(tmp_path, ARGUMENTS, META, stride=1, policy="float32")
    again = runs.open_run_dir(tmp_path, {**ARGUMENTS, "verbose": 0}, META, stride=1,
                              policy="float32")
    assert again == first


def test_a_moved_run_and_dataset_folder_still_resume(tmp_path):
    first = runs.open_run_dir(tmp_path, {**ARGUMENTS, "runs": "runs"}, META, stride=1,
                              policy="float32")
    again = runs.open_run_dir(tmp_path, {**ARGUMENTS, "runs": "/elsewhere/runs",
                                         "data": "/elsewhere/x"}, META)
    assert again == first
    with pytest.raises(SystemExit, match="checksum"):  # another dataset is still refused
        runs.open_run_dir(tmp_path, ARGUMENTS, {**META, "checksum": "def456"})


def test_reopening_with_other_arguments_names_them(tmp_path):
    runs.open_run_dir(tmp_path, ARGUMENTS, META, stride=1, policy="float32")
    with pytest.raises(SystemExit, match="--epochs was 3, now 4"):
        runs.open_run_dir(tmp_path, {**ARGUMENTS, "epochs": 4}, META)


def test_an_argument_the_run_never_recorded_counts_as_changed(tmp_path):
    runs.open_run_dir(tmp_path, ARGUMENTS, META, stride=1, policy="float32")
    with pytest.raises(SystemExit, match="--width was None, now 0.5"):
        runs.open_run_dir(tmp_path, {**ARGUMENTS, "width": 0.5}, META)


def test_an_option_added_later_and_left_off_still_resumes(tmp_path):
    # Runs that predate an option (train.py --hue) resume as long as it stays off.
    first = runs.open_run_dir(tmp_path, ARGUMENTS, META, stride=1, policy="float32")
    assert runs.open_run_dir(tmp_path, {**ARGUMENTS, "hue": 0.0, "new_flag": False}, META) == first
    with pytest.raises(SystemExit, match="--hue was None, now 30"):
        runs.open_run_dir(tmp_path, {**ARGUMENTS, "hue": 30.0}, META)


def write_old_style_config(folder, arguments):
    """config.json as train.py wrote it before: an "arguments" block besides the top level."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"arguments": arguments, **arguments, "dataset_checksum": META["checksum"],
              "status": "running"}
    (folder / "config.json").write_text(json.dumps(config))
    return config


def test_old_config_with_an_arguments_block_still_resumes(tmp_path):
    old = write_old_style_config(tmp_path / "run", ARGUMENTS)
    assert runs.open_run_dir(tmp_path / "run", ARGUMENTS, META) == old


def test_old_config_is_compared_on_its_arguments_block(tmp_path):
    # The block is what the run was started with, whatever the top level says.
    write_old_style_config(tmp_path / "run", {**ARGUMENTS, "seed": 7})
    with pytest.raises(SystemExit, match="--seed was 7, now 0"):
        runs.open_run_dir(tmp_path / "run", ARGUMENTS, META)


def test_other_dataset_is_refused(tmp_path):
    runs.open_run_dir(tmp_path, ARGUMENTS, META)
    with pytest.raises(SystemExit, match="checksum"):
        runs.open_run_dir(tmp_path, ARGUMENTS, {**META, "checksum": "def456"})


def test_folder_without_config_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="no config.json"):
        runs.open_run_dir(tmp_path, ARGUMENTS, META)


def test_a_new_run_killed_writing_its_first_config_starts_again(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / f".config.json.tmp-{DEAD}").write_text('{"model": "res')
    config = runs.open_run_dir(run_dir, ARGUMENTS, META, stride=1, policy="float32")
    assert config["status"] == "running"
    assert [path.name for path in run_dir.iterdir()] == ["config.json"]


def test_reopening_deletes_every_file_a_killed_run_left_half_written(tmp_path):
    runs.open_run_dir(tmp_path, ARGUMENTS, META, stride=1, policy="float32")
    backup = tmp_path / runs.BACKUP_DIR
    backup.mkdir()
    # files.py's temporary names, `.NAME.tmp-PID` plus the suffix Keras insists on
    leftovers = [tmp_path / f".{runs.CONFIG_FILE}.tmp-{DEAD}",
                 tmp_path / f".{runs.HISTORY_FILE}.tmp-{DEAD}",
                 tmp_path / f".{runs.CLASSES_FILE}.tmp-{DEAD}",
                 tmp_path / f".{runs.MODEL_FILE}.tmp-{DEAD}.keras",
                 backup / f".{runs.BACKUP_METADATA}.tmp-{DEAD}",
                 backup / f".{runs.BACKUP_WEIGHTS}.tmp-{DEAD}.weights.h5"]
    for path in leftovers:
        path.write_text("half")
    runs.open_run_dir(tmp_path, ARGUMENTS, META)
    assert [path.name for path in leftovers if path.exists()] == []
    assert (tmp_path / runs.CONFIG_FILE).exists()  # the run's own files stay


@pytest.mark.parametrize("staged_after, model", [(1, "staged"), (2, "epoch 0's")])
def test_reopening_keeps_a_staged_best_model_only_if_its_epoch_finished(tmp_path, staged_after,
                                                                         model):
    # Killed after BestModelCheckpoint staged it: before the epoch counter (the epoch runs
    # again) or after it (the epoch counts).
    runs.open_run_dir(tmp_path, ARGUMENTS, META)
    (tmp_path / "model.keras").write_text("epoch 0's")
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / runs.BACKUP_METADATA).write_text('{"epoch": 1, "batch": 0}')
    runs.staged_model(tmp_path, staged_after).write_text("staged")
    runs.open_run_dir(tmp_path, ARGUMENTS, META)
    assert (tmp_path / "model.keras").read_text() == model
    assert [path.name for path in (tmp_path / "backup").iterdir()] == [runs.BACKUP_METADATA]


def test_reopening_deletes_a_killed_save_of_the_next_best_model(tmp_path):
    runs.open_run_dir(tmp_path, ARGUMENTS, META)
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / runs.BACKUP_METADATA).write_text('{"epoch": 1, "batch": 0}')
    staged = runs.staged_model(tmp_path, 2)
    half = staged.with_name(f".{staged.name}.tmp-{DEAD}.keras")  # files.py's name, Keras' suffix
    half.write_text("half")
    runs.open_run_dir(tmp_path, ARGUMENTS, META)
    assert [path.name for path in (tmp_path / "backup").iterdir()] == [runs.BACKUP_METADATA]


@pytest.mark.parametrize("text", ['{"model": "resnet", "epo', "", "[1, 2]"])
def test_a_broken_config_stops_train_with_its_message(tmp_path, text):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(SystemExit, match=r"^train.py: .*config.json: (cannot read|not a run)"):
        runs.open_run_dir(tmp_path, ARGUMENTS, META)


def test_options_that_change_no_weight_may_change_on_resume(tmp_path):
    first = runs.open_run_dir(tmp_path, {**ARGUMENTS, "tensorboard": False}, META)
    assert runs.open_run_dir(tmp_path, {**ARGUMENTS, "tensorboard": True}, META) == first
    others = {name: f"other {name}" for name in recipe.NOT_TRAINING}
    assert runs.open_run_dir(tmp_path, {**ARGUMENTS, **others}, META) == first
    with pytest.raises(SystemExit, match="--run was 'resnet-seed-mse-s0', now 'renamed'"):
        runs.open_run_dir(tmp_path, {**ARGUMENTS, "run": "renamed"}, META)


def write_history(run_dir, epochs):
    with open(run_dir / "history.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "loss", "val_loss"])
        writer.writerows([epoch, 1.0 / (epoch + 1), 2.0 / (epoch + 1)] for epoch in epochs)


def test_trim_history_drops_the_rows_of_epochs_to_run_again(tmp_path):
    write_history(tmp_path, range(4))
    kept = runs.trim_history(tmp_path, 2)
    assert [row["epoch"] for row in kept] == ["0", "1"]
    with open(tmp_path / "history.csv", newline="") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1"]
    assert runs.trim_history(tmp_path, math.inf) == kept
    assert [path.name for path in tmp_path.iterdir()] == ["history.csv"]  # no temporary file


def test_trim_history_of_a_fresh_run_empties_the_file(tmp_path):
    write_history(tmp_path, range(2))
    assert runs.trim_history(tmp_path, 0) == []
    assert (tmp_path / "history.csv").read_text() == ""


def test_a_run_whose_backup_is_gone_after_all_epochs_counts_as_ended(tmp_path):
    # An older train.py deleted the backup before it marked the run finished.
    write_history(tmp_path, range(3))
    assert runs.resume_point(tmp_path, 3) == (3, True)


def test_one_epoch_row_without_a_backup_runs_that_epoch_again(tmp_path):
    # Killed after CSVLogger wrote epoch 0's row, before its backup was written.
    write_history(tmp_path, range(1))
    assert runs.resume_point(tmp_path, 3) == (0, False)
    assert runs.resume_point(tmp_path / "fresh", 3) == (0, False)


def test_a_run_whose_backup_is_gone_midway_is_refused_and_kept(tmp_path):
    write_history(tmp_path, range(2))
    before = (tmp_path / "history.csv").read_text()
    with pytest.raises(SystemExit, match="2 of 5 epochs .* no backup/"):
        runs.resume_point(tmp_path, 5)
    assert (tmp_path / "history.csv").read_text() == before


def finished_run(folder, **changes):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.keras").write_bytes(b"a model")
    runs.write_config(folder, {"run_name": folder.name, "status": "finished", **changes})
    return folder


def test_a_finished_run_reads_back_its_config(tmp_path):
    run = finished_run(tmp_path / "unet-s1", seed=1)
    assert runs.read_finished_run(run)["seed"] == 1


@pytest.mark.parametrize("problem, message", [
    ("no config", "config.json: cannot read it"),
    ("not json", "config.json: cannot read it"),
    ("not an object", "not a run's config.json"),
    ("running", "not a finished run .status 'running'."),
    ("no model", "model.keras is missing"),
])
def test_a_run_that_cannot_serve_is_refused_with_its_folder_named(tmp_path, problem, message):
    run = finished_run(tmp_path / "unet-s1", status="running" if problem == "running" else
                       "finished")
    if problem == "no config":
        (run / "config.json").unlink()
    elif problem == "not json":
        (run / "config.json").write_text('{"status": "finished",')
    elif problem == "not an object":
        (run / "config.json").write_text('["finished"]')
    elif problem == "no model":
        (run / "model.keras").unlink()
    with pytest.raises(runs.RunError, match=message) as refused:
        runs.read_finished_run(run)
    assert str(run) in str(refused.value)


def test_reading_run_folders_loads_no_tensorflow():
    # colorize.py, ensemble.py and evaluate.py import runs at the top and TensorFlow only once
    # they have work to do: --help and argument errors stay instant.
    code = ("import sys, runs, colorize, ensemble, evaluate; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, check=True)
    assert shown.stdout.strip() == "[]"
