"""A run folder: its creation and reopening, config.json, the resume state, history.csv and the
Keras callbacks that write them. train.py (model.fit) and distributed.py (its own loop) share it.

    runs/<run>/model.keras    the best-val-loss model (BestModelCheckpoint)
    runs/<run>/history.csv    one row per finished epoch (Keras CSVLogger)
    runs/<run>/config.json    the arguments at top level, the environment, then the results
    runs/<run>/backup/        weights and epoch counter after each epoch (EpochBackup)

Every file but history.csv is written under a temporary name and renamed into place (files.py);
history.csv, which Keras' CSVLogger appends to after each epoch, is cut back to the backup's
epoch on resume (trim_history). So a run killed at any instant resumes from its last finished
epoch. The backup goes only after config.json says "finished" (finish_run): a run killed at any
instant before is resumed or finished from it, never started over on top of its model.keras and
history.csv.
"""

import csv
import json
import math
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np

import cpu  # TensorFlow's CPU settings (before TensorFlow loads) and what the CPU is
import keras
import tensorflow as tf

import files

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
MODEL_FILE = "model.keras"
BACKUP_DIR = "backup"
# Not results (or the same steps computed in other chunks); every other argument must match.
# Not compared when a run is reopened: how much it prints and how it steps, and where its folder
# and dataset are (a moved runs/ or data/ holds the same run; the dataset is compared by its
# checksum).
NOT_COMPARED_ON_RESUME = ("verbose", "peer_timeout", "steps_per_execution", "runs", "data")


# --------------------------------------------------------------------------- run folder


def environment():
    """What the numbers depend on besides the arguments: versions and hardware."""
    return {
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__},
        "cpu_features": sorted(cpu.description()[1]),
        "cpu_count": os.cpu_count(),
        "gpus": [gpu.name for gpu in tf.config.list_physical_devices("GPU")],
    }


def read_config(run_dir):
    with open(Path(run_dir) / CONFIG_FILE) as f:
        return json.load(f)


def write_config(run_dir, config):
    files.write_json_atomic(Path(run_dir) / CONFIG_FILE, config)


def started_arguments(config, names):
    """The arguments a run was started with: its "arguments" block in config.json files written
    before the block was dropped, else the top-level keys of `names`."""
    if "arguments" in config:
        return config["arguments"]
    return {name: config[name] for name in names if name in config}


def changed_arguments(config, arguments):
    """Names of the arguments that differ from those the run was started with.

    An option added to the script after the run started is missing from its config.json; left
    off (0, False, None) it changes nothing, so such a run still resumes and counts as done."""
    old = started_arguments(config, arguments)
    return sorted(key for key in set(old) | set(arguments)
                  if old.get(key) != arguments.get(key) and key not in NOT_COMPARED_ON_RESUME
                  and (key in old or arguments.get(key)))


def open_run_dir(run_dir, arguments, meta, **facts):
    """Create or reopen a run folder; refuse one made with other arguments or another dataset.

    `arguments` are the script's options by name (JSON values), `meta` the dataset's meta.json
    and `facts` what else config.json records (image geometry, precision policy). Returns the
    config: read back when reopened, else new with status "running".
    """
    run_dir = Path(run_dir)
    if (run_dir / CONFIG_FILE).is_file():
        config = read_config(run_dir)
        changed = changed_arguments(config, arguments)
        if changed:
            old = started_arguments(config, arguments)
            details = ", ".join(f"--{k.replace('_', '-')} was {old.get(k)!r}, now "
                                f"{arguments.get(k)!r}" for k in changed)
            raise SystemExit(f"train.py: {run_dir} was started with other arguments ({details}); "
                             "use the original arguments to resume, another --run name, or "
                             "delete the folder")
        if config.get("dataset_checksum") != meta["checksum"]:
            raise SystemExit(f"train.py: {run_dir} was trained on a dataset with checksum "
                             f"{config.get('dataset_checksum')}, but {arguments['data']} now has "
                             f"{meta['checksum']}; train into a new run folder")
        for name in (MODEL_FILE, HISTORY_FILE, f"{BACKUP_DIR}/{EpochBackup.WEIGHTS}"):
            files.remove_leftovers(run_dir / name)  # half-written by a killed run
        return config
    if run_dir.exists() and any(run_dir.iterdir()):
        raise SystemExit(f"train.py: {run_dir} exists but has no config.json; it is not a run "
                         "folder of this project (delete it or choose another --run)")
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {**arguments, **environment(), "run_name": arguments["run"],
              "dataset_checksum": meta["checksum"], "image_size": meta["size"], **facts,
              "status": "running"}
    write_config(run_dir, config)
    return config


def resume_point(run_dir, epochs):
    """(first epoch to run, whether training has ended) of a reopened run of `epochs` epochs.

    The backup says both: training ended when EpochBackup marked it so (all epochs ran, or
    --patience or a NaN stopped it) or its counter reached `epochs`. Without a backup,
    history.csv can hold one row at most, that of a first epoch killed before its backup was
    written, which runs again. More rows mean the backup is gone (as an older train.py
    deleted it before it marked the run finished): with every epoch in history.csv the run
    has ended and only its results are missing; short of that it cannot go on where it
    stopped, and starting over would overwrite its model.keras and history.csv, so it stops.
    """
    state = backup_state(Path(run_dir) / BACKUP_DIR)
    if state is not None:
        return int(state["epoch"]), bool(state.get("ended")) or int(state["epoch"]) >= epochs
    done = len(read_history(run_dir))
    if done >= epochs:
        return done, True
    if done <= 1:
        return 0, False
    raise SystemExit(f"train.py: {Path(run_dir)} has {done} of {epochs} epochs in {HISTORY_FILE} "
                     f"but no {BACKUP_DIR}/ to resume from, so its training cannot go on where "
                     "it stopped; its model.keras and history.csv are left as they are. Train "
                     "into another --run name, or delete the folder to start it again")


def backup_state(folder):
    """The epoch counter EpochBackup keeps in `folder` ({"epoch": ..., "ended": ...}), or None."""
    path = Path(folder) / EpochBackup.METADATA
    if not path.is_file():
        return None
    with open(path) as f:
        return json.load(f)


def read_history(run_dir):
    """The rows of history.csv (none before the first epoch ended)."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def trim_history(run_dir, epoch):
    """Keep the rows of history.csv of epochs before `epoch`; return them.

    An epoch killed after CSVLogger wrote its row but before the backup was written runs
    again on resume; dropping its row here keeps each epoch in history.csv exactly once.
    """
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    rows = read_history(run_dir)
    kept = [row for row in rows if int(row["epoch"]) < epoch]
    if len(kept) != len(rows) or epoch == 0:
        with files.atomic_write(path, "w", newline="") as f:
            if kept:
                writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
                writer.writeheader()
                writer.writerows(kept)
    return kept


def finish_run(run_dir, config):
    """Write the finished config.json, then delete the backup, in that order: a run killed
    between the two is finished with a stale backup (which the next call deletes), never
    "running" without its resume state."""
    write_config(run_dir, config)
    remove_backup(run_dir)


def remove_backup(run_dir):
    shutil.rmtree(Path(run_dir) / BACKUP_DIR, ignore_errors=True)


# --------------------------------------------------------------------------- callbacks


class EpochBackup(keras.callbacks.Callback):
    """The resume state after every finished epoch, restored when training begins.

    The weights (the optimizer's included) are renamed into place first, then the epoch
    counter; a kill between the two renames resumes one epoch early, which is harmless. When
    training ends normally the counter is marked "ended" (--patience or a NaN may end it
    before the last epoch) and the folder stays: finish_run deletes it once config.json says
    "finished". The files are those of Keras' BackupAndRestore, so a backup it wrote resumes
    here; resume_point(run_dir, epochs) reads where to go on.
    """

    WEIGHTS, METADATA = "latest.weights.h5", "training_metadata.json"

    def __init__(self, folder):
        super().__init__()
        self.folder = Path(folder)

    def on_train_begin(self, logs=None):
        weights = self.folder / self.WEIGHTS
        if not weights.is_file():
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)  # its state is saved too
        self.model.load_weights(weights)

    def on_epoch_end(self, epoch, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        with files.atomic_path(self.folder / self.WEIGHTS, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        files.write_json_atomic(self.folder / self.METADATA, {"epoch": epoch + 1, "batch": 0})

    def on_train_end(self, logs=None):
        state = backup_state(self.folder)
        if state is not None:
            files.write_json_atomic(self.folder / self.METADATA, {**state, "ended": True})


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the model whenever val_loss improves; the file is renamed into place, never torn."""

    def __init__(self, path, best=math.inf, monitor="val_loss", saved_model=None):
        super().__init__()
        self.path, self.best, self.monitor = Path(path), best, monitor
        self.saved_model = saved_model  # None: the model being trained

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not value < self.best:
            return
        self.best = float(value)
        with files.atomic_path(self.path, suffix=".keras") as tmp:
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
    """Order matters: the CSV row and the best model are written before the backup.

    The backup holds the trained model's weights; model.keras holds saved_model (if given).
    patience > 0 stops after that many epochs without val improvement, counting from before a
    resume: `best` and `since_best` (epochs run since it) say where the run stood.
    """
    run_dir = Path(run_dir)
    callbacks = [speed, keras.callbacks.TerminateOnNaN(),
                 BestModelCheckpoint(run_dir / MODEL_FILE, best=best, saved_model=saved_model),
                 keras.callbacks.CSVLogger(str(run_dir / HISTORY_FILE), append=True)]
    if patience:
        callbacks.append(ResumedEarlyStopping(patience, best, since_best))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    callbacks.append(EpochBackup(run_dir / BACKUP_DIR))
    return callbacks
