"""A run folder: its creation and reopening, config.json, the resume state and history.csv.
train.py (model.fit, with callbacks.py writing the folder as it trains) and distributed.py (its
own loop) create them; ensemble.py, evaluate.py and colorize.py read them (read_finished_run,
MODEL_FILE). No TensorFlow at import, so that those scripts' --help and argument errors stay
instant.

    runs/<run>/model.keras       the best-val-loss model (BestModelCheckpoint)
    runs/<run>/history.csv       one row per finished epoch (Keras CSVLogger)
    runs/<run>/config.json       the arguments at top level, the environment, then the results
    runs/<run>/ab_classes.json   --loss classification only: the ab bins, prior and weights
    runs/<run>/backup/           weights and epoch counter after each epoch (callbacks.EpochBackup)
    runs/<run>/backup/best-after-N.keras   a new best model until the backup counts N epochs

Every file but history.csv is written under a temporary name and renamed into place (files.py);
history.csv, which Keras' CSVLogger appends to after each epoch, is cut back to the backup's
epoch on resume (trim_history), and a new best model waits in backup/ until the backup
counts its epoch (settle_best_model). So a run killed at any instant resumes from its last
finished epoch, with the model.keras of the best of those epochs. The backup goes only after
config.json says "finished" (finish_run): a run killed at any instant before is resumed or
finished from it, never started over on top of its model.keras and history.csv.
"""

import csv
import json
import os
import platform
import shutil
from pathlib import Path

import numpy as np

import cpu  # TensorFlow's CPU settings (before TensorFlow loads) and what the CPU is
import files
import recipe

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
MODEL_FILE = "model.keras"
CLASSES_FILE = "ab_classes.json"  # training.prepare_classes writes it
BACKUP_DIR = "backup"
# The backup's files: those of Keras' BackupAndRestore, so that a backup it wrote resumes here.
BACKUP_WEIGHTS, BACKUP_METADATA = "latest.weights.h5", "training_metadata.json"
STAGED_PREFIX = "best-after-"  # backup/best-after-N.keras: staged_model
# Every file of the folder that is written under a temporary name: a kill leaves that name
# behind, which open_run_dir deletes.
WRITTEN_ATOMICALLY = (CONFIG_FILE, MODEL_FILE, HISTORY_FILE, CLASSES_FILE,
                      f"{BACKUP_DIR}/{BACKUP_WEIGHTS}", f"{BACKUP_DIR}/{BACKUP_METADATA}")


# --------------------------------------------------------------------------- run folder


def environment():
    """What the numbers depend on besides the arguments: versions and hardware."""
    import keras
    import tensorflow as tf

    return {
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__},
        "cpu_features": sorted(cpu.description()[1]),
        "cpu_kind": cpu.kind(),  # how the README's tables name the machine that trained it
        "cpu_count": os.cpu_count(),
        "gpus": [gpu.name for gpu in tf.config.list_physical_devices("GPU")],
    }


class RunError(Exception):
    """A run folder that cannot serve as asked; the message names the folder and says why."""


def read_config(run_dir):
    with open(Path(run_dir) / CONFIG_FILE) as f:
        return json.load(f)


def read_run(run_dir):
    """config.json of a run folder, or a RunError naming the file and what is wrong with it:
    the readers' one way to open a run, so that a broken file reads the same everywhere."""
    path = Path(run_dir) / CONFIG_FILE
    try:
        config = read_config(run_dir)
    except (OSError, ValueError) as error:  # missing, unreadable, not JSON, not text
        raise RunError(f"{path}: cannot read it ({error})") from None
    if not isinstance(config, dict):
        raise RunError(f"{path}: not a run's config.json (a JSON object)")
    return config


def read_run_to_train(run_dir):
    """read_run for train.py: a broken config.json stops it with the message, not a
    traceback."""
    try:
        return read_run(run_dir)
    except RunError as error:
        raise SystemExit(f"train.py: {error}") from None


def check_finished(run_dir, config):
    """Refuse a run that is not trained to the end: until config.json says "finished", its
    model.keras is only the best epoch so far, and it may be missing altogether."""
    if config.get("status") != "finished":
        raise RunError(f"{run_dir}: not a finished run (status {config.get('status')!r}): its "
                       f"{MODEL_FILE} is only the best so far and its epochs are not all run; "
                       "finish it first (rerun its train.py command)")
    if not (Path(run_dir) / MODEL_FILE).is_file():
        raise RunError(f"{run_dir}: {MODEL_FILE} is missing; did training finish?")


def read_finished_run(run_dir):
    """config.json of a finished run whose model.keras is there, else a RunError."""
    config = read_run(run_dir)
    check_finished(run_dir, config)
    return config


def write_config(run_dir, config):
    files.write_json_atomic(Path(run_dir) / CONFIG_FILE, config)


def started_arguments(config, names):
    """The arguments a run was started with: its "arguments" block in config.json files written
    before the block was dropped, else the top-level keys of `names`."""
    if "arguments" in config:
        return config["arguments"]
    return {name: config[name] for name in names if name in config}


def changed_arguments(config, arguments):
    """Names of the arguments that differ from those the run was started with, but for
    recipe.NOT_TRAINING: a run reopened with other values of those trains the same (a moved
    runs/ or data/ holds the same run; the dataset is compared by its checksum).

    An option added to the script after the run started is missing from its config.json; left
    off (0, False, None) it changes nothing, so such a run still resumes and counts as done."""
    old = started_arguments(config, arguments)
    return sorted(key for key in set(old) | set(arguments)
                  if old.get(key) != arguments.get(key) and key not in recipe.NOT_TRAINING
                  and (key in old or arguments.get(key)))


def trained_on(config, checksum):
    """Whether a run's config.json says it was trained on the dataset with this checksum: what
    train.py (resume), study.py (train again) and evaluate.py (refuse) each ask."""
    return config.get("dataset_checksum") == checksum


def open_run_dir(run_dir, arguments, meta, **facts):
    """Create or reopen a run folder; refuse one made with other arguments or another dataset.

    `arguments` are the script's options by name (JSON values), `meta` the dataset's meta.json
    and `facts` what else config.json records (image geometry, precision policy). Returns the
    config: read back when reopened, else new with status "running".
    """
    run_dir = Path(run_dir)
    # Files half-written by a killed run go first: a new run killed writing its first config.json
    # leaves a folder that must read as new.
    for name in WRITTEN_ATOMICALLY:
        files.remove_leftovers(run_dir / name)
    if (run_dir / CONFIG_FILE).is_file():
        config = read_run_to_train(run_dir)
        changed = changed_arguments(config, arguments)
        if changed:
            old = started_arguments(config, arguments)
            details = ", ".join(f"--{k.replace('_', '-')} was {old.get(k)!r}, now "
                                f"{arguments.get(k)!r}" for k in changed)
            raise SystemExit(f"train.py: {run_dir} was started with other arguments ({details}); "
                             "use the original arguments to resume, another --run name, or "
                             "delete the folder")
        if not trained_on(config, meta["checksum"]):
            raise SystemExit(f"train.py: {run_dir} was trained on a dataset with checksum "
                             f"{config.get('dataset_checksum')}, but {arguments['data']} now has "
                             f"{meta['checksum']}; train into a new run folder")
        settle_best_model(run_dir)
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

    The backup says both: training ended when callbacks.EpochBackup marked it so (all epochs
    ran, or --patience or a NaN stopped it) or its counter reached `epochs`. Without a backup,
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


def staged_model(run_dir, epochs_done):
    """Where callbacks.BestModelCheckpoint saves a new best model, of the epoch that makes
    `epochs_done` epochs finished, until settle_best_model moves it to model.keras."""
    return Path(run_dir) / BACKUP_DIR / f"{STAGED_PREFIX}{epochs_done}.keras"


def settle_best_model(run_dir):
    """Move the best model staged in backup/ to model.keras where the backup's epoch counter
    counts its epoch as finished, else delete it: that epoch runs again and its history.csv row
    is trimmed, so model.keras must not become its model. A run killed while it saved the next
    epoch's model leaves that save's temporary file, which goes too. callbacks.EpochBackup calls
    this after each epoch's counter, open_run_dir on reopening a killed run."""
    state = backup_state(Path(run_dir) / BACKUP_DIR)
    done = int(state["epoch"]) if state else 0
    for path in (Path(run_dir) / BACKUP_DIR).glob(f"{STAGED_PREFIX}*.keras"):  # one at most
        if int(path.stem.removeprefix(STAGED_PREFIX)) <= done:
            os.replace(path, Path(run_dir) / MODEL_FILE)
        else:
            path.unlink()
    files.remove_leftovers(staged_model(run_dir, done + 1))


def backup_state(folder):
    """The epoch counter callbacks.EpochBackup keeps in `folder` ({"epoch": ..., "ended": ...}),
    or None."""
    path = Path(folder) / BACKUP_METADATA
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
