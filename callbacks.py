"""The Keras callbacks that write a run folder (runs.py) while model.fit trains: the best model,
history.csv, the resume state after every epoch, the training speed, and --patience counted
across a resume. Order matters; make_callbacks puts them in it.
"""

import math
import time
from pathlib import Path

import cpu  # noqa: F401  (TensorFlow's CPU settings: before keras loads)
import keras

import files
import runs


class EpochBackup(keras.callbacks.Callback):
    """The resume state of run_dir after every finished epoch, restored when training begins.

    The weights (the optimizer's included) are renamed into place first, then the epoch
    counter; a kill between the two renames resumes one epoch early, which is harmless. Only
    then does the best model BestModelCheckpoint staged become model.keras
    (runs.settle_best_model). When training ends normally the counter is marked "ended"
    (--patience or a NaN may end it before the last epoch) and the folder stays:
    runs.finish_run deletes it once config.json says "finished". The files are those of Keras'
    BackupAndRestore, so a backup it wrote resumes here; runs.resume_point(run_dir, epochs)
    reads where to go on.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir, self.folder = Path(run_dir), Path(run_dir) / runs.BACKUP_DIR

    def on_train_begin(self, logs=None):
        weights = self.folder / runs.BACKUP_WEIGHTS
        if not weights.is_file():
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)  # its state is saved too
        self.model.load_weights(weights)

    def on_epoch_end(self, epoch, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        with files.atomic_path(self.folder / runs.BACKUP_WEIGHTS, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        files.write_json_atomic(self.folder / runs.BACKUP_METADATA,
                                {"epoch": epoch + 1, "batch": 0})
        runs.settle_best_model(self.run_dir)

    def on_train_end(self, logs=None):
        state = runs.backup_state(self.folder)
        if state is not None:
            files.write_json_atomic(self.folder / runs.BACKUP_METADATA, {**state, "ended": True})


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the model whenever val_loss improves; the file is renamed into place, never torn.

    It goes to backup/ (runs.staged_model), and EpochBackup makes it model.keras once the epoch
    counter says its epoch finished: a kill in between runs the epoch again, and model.keras
    stays the model of the best epoch in history.csv, as config.json's results will say."""

    def __init__(self, run_dir, best=math.inf, monitor="val_loss", saved_model=None):
        super().__init__()
        self.run_dir, self.best, self.monitor = Path(run_dir), best, monitor
        self.saved_model = saved_model  # None: the model being trained

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not value < self.best:
            return
        self.best = float(value)
        staged = runs.staged_model(self.run_dir, epoch + 1)
        with files.atomic_path(staged, suffix=".keras") as tmp:
            (self.saved_model or self.model).save(tmp)


class TrainingSpeed(keras.callbacks.Callback):
    """Training images/s, validation excluded."""

    def __init__(self, images_per_epoch):
        super().__init__()
        self.images_per_epoch, self.seconds, self.epochs = images_per_epoch, 0.0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_test_begin(self, logs=None):
        self.seconds += time.perf_counter() - self.started
        self.epochs += 1

    def images_per_second(self):
        return self.images_per_epoch * self.epochs / self.seconds if self.seconds else 0.0


class ResumedEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping on val_loss that goes on counting where a resumed run stood.

    Keras' own forgets the best val_loss and the epochs waited when training begins, so a
    resumed run would count its first epoch as an improvement and train at least `patience`
    more epochs, past where the same run uninterrupted would have stopped."""

    def __init__(self, patience, best=math.inf, since_best=0):
        super().__init__(monitor="val_loss", patience=patience)
        self.resumed_best, self.resumed_wait = best, since_best

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if math.isfinite(self.resumed_best):
            self.best, self.wait = self.resumed_best, self.resumed_wait


def make_callbacks(run_dir, best, speed, saved_model=None, patience=0, tensorboard=False,
                   since_best=0):
    """Order matters: the CSV row and the staged best model are written before the backup.

    The backup holds the trained model's weights; model.keras holds saved_model (if given).
    patience > 0 stops after that many epochs without val improvement, counting from before a
    resume: `best` and `since_best` (epochs run since it) say where the run stood.
    """
    run_dir = Path(run_dir)
    callbacks = [speed, keras.callbacks.TerminateOnNaN(),
                 BestModelCheckpoint(run_dir, best=best, saved_model=saved_model),
                 keras.callbacks.CSVLogger(str(run_dir / runs.HISTORY_FILE), append=True)]
    if patience:
        callbacks.append(ResumedEarlyStopping(patience, best, since_best))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    callbacks.append(EpochBackup(run_dir))
    return callbacks
