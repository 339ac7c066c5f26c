"""callbacks.py: the backup and the best model are written whole and restored, the backup is
marked when training ends (runs.resume_point reads it), --patience counts across a resume."""

import math

import cpu  # noqa: F401  (before TensorFlow, as every entry point does)
import keras
import numpy as np

import callbacks
import runs


def tiny_model(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def fit_with_backup(model, run_dir, epochs, initial_epoch=0, stop_after=None):
    x = np.arange(12, dtype=np.float32).reshape(4, 3)

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if stop_after is not None and epoch + 1 == stop_after:
                raise KeyboardInterrupt  # a kill between epochs: no on_train_end

    try:
        model.fit(x, x[:, :2], epochs=epochs, initial_epoch=initial_epoch, verbose=0,
                  callbacks=[callbacks.EpochBackup(run_dir), Stop()])
    except KeyboardInterrupt:
        pass


def test_backup_restores_weights_and_optimizer_state_and_counts_epochs(tmp_path):
    backup = tmp_path / "backup"
    interrupted = tiny_model(0)
    fit_with_backup(interrupted, tmp_path, epochs=4, stop_after=2)
    assert runs.resume_point(tmp_path, 4) == (2, False)
    assert sorted(path.name for path in backup.iterdir()) == [
        "latest.weights.h5", "training_metadata.json"]

    resumed = tiny_model(1)  # other initial weights: only the backup can make them equal
    resumed.optimizer.build(resumed.trainable_variables)
    callback = callbacks.EpochBackup(tmp_path)
    callback.set_model(resumed)
    callback.on_train_begin()
    for restored, saved in zip(resumed.variables + resumed.optimizer.variables,
                               interrupted.variables + interrupted.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(restored), np.asarray(saved))


def test_ended_training_keeps_the_backup_marked_ended_until_the_run_is_finished(tmp_path):
    # Deleting it before config.json says "finished" would leave a run killed in between
    # "running" with nothing to resume from.
    runs.write_config(tmp_path, {"status": "running"})
    fit_with_backup(tiny_model(0), tmp_path, epochs=2)
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
              callbacks=[stop, callbacks.EpochBackup(tmp_path)])
    assert runs.resume_point(tmp_path, 5) == (2, True)


def test_best_model_checkpoint_saves_only_improvements_and_leaves_no_temporary(tmp_path):
    model = tiny_model(0)
    checkpoint = callbacks.BestModelCheckpoint(tmp_path, best=1.0)
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"val_loss": 2.0})
    assert not (tmp_path / "backup").exists()
    checkpoint.on_epoch_end(1, {"val_loss": 0.5})
    assert checkpoint.best == 0.5
    assert [path.name for path in (tmp_path / "backup").iterdir()] == ["best-after-2.keras"]
    loaded = keras.saving.load_model(runs.staged_model(tmp_path, 2), compile=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def weights_of(path):
    return keras.saving.load_model(path, compile=False).get_weights()


def fit_killed_before_backup(model, run_dir, epochs, kill_at=None):
    """model.fit with make_callbacks; killed at epoch `kill_at` after the best model and the
    CSV row were written, before the backup was. Returns the weights after each epoch."""
    weights = []

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append(model.get_weights())
            if epoch == kill_at:
                raise KeyboardInterrupt  # a kill: nothing after it runs

    written = callbacks.make_callbacks(run_dir, math.inf, callbacks.TrainingSpeed(4))
    written.insert(-1, Kill())
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    try:
        model.fit(x, x[:, :2], validation_data=(x, x[:, :2]), epochs=epochs, verbose=0,
                  callbacks=written)
    except KeyboardInterrupt:
        pass
    return weights


def test_a_best_model_of_an_epoch_killed_before_its_backup_never_becomes_model_keras(tmp_path):
    # The epoch runs again on resume and its history.csv row is trimmed: config.json's best
    # epoch comes from the rows left, so model.keras must still be their best epoch's model.
    weights = fit_killed_before_backup(tiny_model(0), tmp_path, epochs=3, kill_at=1)
    rows = runs.read_history(tmp_path)
    assert float(rows[1]["val_loss"]) < float(rows[0]["val_loss"])  # epoch 1 was a new best
    assert runs.resume_point(tmp_path, 3) == (1, False)
    runs.settle_best_model(tmp_path)  # as open_run_dir does on reopening
    for saved, kept in zip(weights_of(tmp_path / runs.MODEL_FILE), weights[0]):
        np.testing.assert_array_equal(saved, kept)
    assert sorted(path.name for path in (tmp_path / "backup").iterdir()) == [
        "latest.weights.h5", "training_metadata.json"]


def test_a_best_model_staged_by_a_finished_epoch_becomes_model_keras(tmp_path):
    # Killed after the epoch counter was written, before the staged model was moved.
    fit_killed_before_backup(tiny_model(0), tmp_path, epochs=1)
    assert (tmp_path / runs.MODEL_FILE).is_file()
    assert sorted(path.name for path in (tmp_path / "backup").iterdir()) == [
        "latest.weights.h5", "training_metadata.json"]
    runs.staged_model(tmp_path, 1).write_bytes(b"epoch 1's best")
    runs.settle_best_model(tmp_path)
    assert (tmp_path / runs.MODEL_FILE).read_bytes() == b"epoch 1's best"


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
    written = callbacks.make_callbacks(tmp_path, 0.5, callbacks.TrainingSpeed(8), patience=3,
                                       since_best=2)
    stopper, = [c for c in written if isinstance(c, keras.callbacks.EarlyStopping)]
    assert early_stop_after(stopper, 0.6)
    assert not early_stop_after(stopper, 0.4)  # an improvement resets the count
    assert not early_stop_after(callbacks.ResumedEarlyStopping(3), 0.6)  # a fresh run's first epoch
