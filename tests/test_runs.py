"""runs.py: config.json records each argument once, old configs still resume, the backup and
the best model are written whole and restored, history.csv keeps each epoch once."""

import csv
import json
import math

import cpu  # noqa: F401  (before TensorFlow, as every entry point does)
import keras
import numpy as np
import pytest

import runs

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


def tiny_model(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def fit_with_backup(model, backup, epochs, initial_epoch=0, stop_after=None):
    x = np.arange(12, dtype=np.float32).reshape(4, 3)

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if stop_after is not None and epoch + 1 == stop_after:
                raise KeyboardInterrupt  # a kill between epochs: no on_train_end

    try:
        model.fit(x, x[:, :2], epochs=epochs, initial_epoch=initial_epoch, verbose=0,
                  callbacks=[runs.EpochBackup(backup), Stop()])
    except KeyboardInterrupt:
        pass


def test_backup_restores_weights_and_optimizer_state_and_counts_epochs(tmp_path):
    backup = tmp_path / "backup"
    interrupted = tiny_model(0)
    fit_with_backup(interrupted, backup, epochs=4, stop_after=2)
    assert runs.resume_point(tmp_path, 4) == (2, False)
    assert sorted(path.name for path in backup.iterdir()) == [
        "latest.weights.h5", "training_metadata.json"]

    resumed = tiny_model(1)  # other initial weights: only the backup can make them equal
    resumed.optimizer.build(resumed.trainable_variables)
    callback = runs.EpochBackup(backup)
    callback.set_model(resumed)
    callback.on_train_begin()
    for restored, saved in zip(resumed.variables + resumed.optimizer.variables,
                               interrupted.variables + interrupted.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(restored), np.asarray(saved))


def test_ended_training_keeps_the_backup_marked_ended_until_the_run_is_finished(tmp_path):
    # Deleting it before config.json says "finished" would leave a run killed in between
    # "running" with nothing to resume from.
    runs.write_config(tmp_path, {"status": "running"})
    fit_with_backup(tiny_model(0), tmp_path / "backup", epochs=2)
    assert runs.resume_point(tmp_path, 2) == (2, True)
    runs.finish_run(tmp_path, {"status": "finished"})
    assert runs.read_config(tmp_path)["status"] == "finished"
    assert not (tmp_path / "backup").exists()


def test_training_stopped_early_counts_as_ended(tmp_path):
    # --patience or TerminateOnNaN end training before the last epoch: resuming would train on.
    model = tiny_model(0)
    x = np.ones((4, 3), np.float32)
    stop = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch == 1))
    model.fit(x, x[:, :2], epochs=5, verbose=0,
              callbacks=[stop, runs.EpochBackup(tmp_path / "backup")])
    assert runs.resume_point(tmp_path, 5) == (2, True)


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


def test_best_model_checkpoint_saves_only_improvements_and_leaves_no_temporary(tmp_path):
    model = tiny_model(0)
    checkpoint = runs.BestModelCheckpoint(tmp_path / "model.keras", best=1.0)
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"val_loss": 2.0})
    assert not (tmp_path / "model.keras").exists()
    checkpoint.on_epoch_end(1, {"val_loss": 0.5})
    assert checkpoint.best == 0.5
    assert [path.name for path in tmp_path.iterdir()] == ["model.keras"]
    loaded = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def early_stop_after(stopper, val_loss, epoch=5):
    """Whether `stopper` stops a fit at `epoch` whose val_loss is `val_loss`."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    stopper.set_model(model)
    model.stop_training = False
    stopper.on_train_begin()
    stopper.on_epoch_end(epoch, {"val_loss": val_loss})
    return model.stop_training


def test_patience_goes_on_counting_across_a_resume(tmp_path):
    # Best 0.5 two epochs before the kill: one more epoch without improvement makes three.
    callbacks = runs.make_callbacks(tmp_path, 0.5, runs.TrainingSpeed(8), patience=3,
                                    since_best=2)
    stopper, = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    assert early_stop_after(stopper, 0.6)
    assert not early_stop_after(stopper, 0.4)  # an improvement resets the count
    assert not early_stop_after(runs.ResumedEarlyStopping(3), 0.6)  # a fresh run's first epoch
