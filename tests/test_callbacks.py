"""callbacks.py: the backup and the best model are written whole and restored, the backup is
marked when training ends (runs.resume_point reads it), --patience counts across a resume."""

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


def fit_with_backup(model, backup, epochs, initial_epoch=0, stop_after=None):
    x = np.arange(12, dtype=np.float32).reshape(4, 3)

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if stop_after is not None and epoch + 1 == stop_after:
                raise KeyboardInterrupt  # a kill between epochs: no on_train_end

    try:
        model.fit(x, x[:, :2], epochs=epochs, initial_epoch=initial_epoch, verbose=0,
                  callbacks=[callbacks.EpochBackup(backup), Stop()])
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
    callback = callbacks.EpochBackup(backup)
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
              callbacks=[stop, callbacks.EpochBackup(tmp_path / "backup")])
    assert runs.resume_point(tmp_path, 5) == (2, True)


def test_best_model_checkpoint_saves_only_improvements_and_leaves_no_temporary(tmp_path):
    model = tiny_model(0)
    checkpoint = callbacks.BestModelCheckpoint(tmp_path / "model.keras", best=1.0)
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
    written = callbacks.make_callbacks(tmp_path, 0.5, callbacks.TrainingSpeed(8), patience=3,
                                       since_best=2)
    stopper, = [c for c in written if isinstance(c, keras.callbacks.EarlyStopping)]
    assert early_stop_after(stopper, 0.6)
    assert not early_stop_after(stopper, 0.4)  # an improvement resets the count
    assert not early_stop_after(callbacks.ResumedEarlyStopping(3), 0.6)  # a fresh run's first epoch
