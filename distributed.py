"""train.py on tf.distribute: --distribute mirrored (local GPUs) or multiworker (TF_CONFIG).

Two workers, one command on each machine (the same arguments, only "index" differs):

    TF_CONFIG='{"cluster": {"worker": ["host1:20000", "host2:20000"]},
                "task": {"type": "worker", "index": 0}}' \\
        python train.py --model unet --data data/mountains-synth --distribute multiworker

Worker 0 is the chief: it alone writes the run folder (model.keras, history.csv, config.json,
backup/); the others keep their copies in a temporary folder deleted at the end. To resume after
any worker died, start all of them again with the same arguments: the chief reads its backup
and sends that state to every worker. A worker whose peers do not come up within --peer-timeout
seconds stops with an error.

Why a loop of our own: Keras 3.15's model.fit fails under MultiWorkerMirroredStrategy
("Attempt to convert a value (PerReplica...)", keras-team/keras#20585). The loop here drives the
parts fit would drive: training.py's model, optimizer and loss (build_compiled_model), Keras'
own model.train_step and test_step (the steps fit runs: the loss of each replica is its batch mean
divided by the number of replicas and the gradients are summed, i.e. the mean over the global
batch), training.py's input pipeline (make_dataset; each worker reads only its share) and
callbacks.py's callbacks (history.csv, best model, backup; plus Keras' progress bar). train.py
calls this module; it does not call train.py back.

Two differences from fit: every step uses a full global batch (the few images of each shuffled
epoch beyond the last full batch sit out, different ones each epoch), so that no replica ever
gets an empty batch; and BatchNorm's moving statistics, which Keras keeps per replica, are
averaged over the replicas after each epoch, so that all workers end with identical weights.
"""

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)
import keras
import numpy as np
import tensorflow as tf

import runs
import training


# --------------------------------------------------------------------------- cluster


def cluster_addresses():
    """(all task addresses, this task's address) from TF_CONFIG, or a clear SystemExit."""
    try:
        config = json.loads(os.environ["TF_CONFIG"])
        cluster, task = config["cluster"], config["task"]
        addresses = [address for job in sorted(cluster) for address in cluster[job]]
        own = cluster[task["type"]][int(task["index"])]
    except KeyError as missing:
        raise SystemExit(f"train.py: --distribute multiworker needs the TF_CONFIG environment "
                         f"variable with a cluster and this task ({missing} is missing); see "
                         "distributed.py") from None
    except (ValueError, TypeError, IndexError) as error:
        raise SystemExit(f"train.py: TF_CONFIG is not a valid cluster description: {error}") \
            from None
    return addresses, own


# Runs in a child process: TensorFlow waits for a missing worker forever inside C++ while it
# creates the strategy, holding the GIL and deaf to SIGTERM; no thread of ours could end it.
WATCHDOG = """
import os, select, signal, socket, sys
parent, seconds, peers = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
if select.select([sys.stdin], [], [], seconds)[0]:
    sys.exit(0)  # stdin closed: the cluster formed (or the parent ended)
def answers(peer):
    host, port = peer.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return True
    except OSError:
        return False
missing = [peer for peer in peers if not answers(peer)]
detail = "nothing answers at " + ", ".join(missing) if missing else "the cluster did not form"
sys.stderr.write(f"train.py: the other workers did not come up within --peer-timeout {seconds:g} s"
                 f" ({detail}); start every worker of TF_CONFIG with the same arguments\\n")
sys.stderr.flush()
os.kill(parent, signal.SIGKILL)
"""


class PeerWatchdog:
    """Ends this process with a clear error when the cluster has not formed in `seconds`."""

    def __init__(self, seconds, peers):
        self.arguments = [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(seconds), *peers]

    def __enter__(self):
        self.process = subprocess.Popen(self.arguments, stdin=subprocess.PIPE)
        return self

    def __exit__(self, *exc):
        self.process.stdin.close()
        self.process.wait()


def broadcast_from_chief(strategy, values):
    """The first replica's (the chief's) values, on every worker: a sum where the rest send 0."""
    values = [tf.cast(value, tf.float64) for value in values]

    def send():
        context = tf.distribute.get_replica_context()
        first = tf.equal(context.replica_id_in_sync_group, 0)
        return context.all_reduce(tf.distribute.ReduceOp.SUM,
                                  [tf.where(first, value, tf.zeros_like(value))
                                   for value in values])

    received = strategy.experimental_local_results(tf.function(lambda: strategy.run(send))())[0]
    return [value.numpy() for value in received]


def make_strategy(kind, peer_timeout):
    """The tf.distribute strategy of --distribute, with the cluster formed (or a SystemExit)."""
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    addresses, own = cluster_addresses()
    with PeerWatchdog(peer_timeout, [address for address in addresses if address != own]):
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        broadcast_from_chief(strategy, [0.0])  # returns once every worker is up
    return strategy


def nothing_to_train(run_dir, epochs):
    """True where the run is finished, or its training ended and only config.json's results are
    missing (a kill came between): the chief then trains no step, so no other worker may."""
    if not (Path(run_dir) / runs.CONFIG_FILE).is_file():
        return False
    return runs.read_run_to_train(run_dir).get("status") == "finished" or \
        runs.resume_point(run_dir, epochs)[1]


# --------------------------------------------------------------------------- training loop


def weights_fingerprint(model):
    """A short hash of every weight, in order: equal on all workers when they agree."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()[:16]


class PrintFingerprint(keras.callbacks.Callback):
    def __init__(self, worker):
        super().__init__()
        self.worker = worker

    def on_epoch_end(self, epoch, logs=None):
        print(f"{self.worker}, epoch {epoch + 1}: weights fingerprint "
              f"{weights_fingerprint(self.model)}", flush=True)


def distribute(strategy, arrays, per_replica_batch, **pipeline):
    """training.make_dataset per worker, on its share of the images only."""
    def dataset_of(context):
        return training.make_dataset(*arrays, per_replica_batch, **pipeline,
                                     shard=(context.input_pipeline_id, context.num_input_pipelines))
    return strategy.distribute_datasets_from_function(dataset_of)


def average_over_replicas(strategy, variables):
    """Make per-replica state (BatchNorm's moving statistics) the replicas' mean."""
    def mean():
        return tf.distribute.get_replica_context().all_reduce(
            tf.distribute.ReduceOp.MEAN, [tf.identity(variable.value) for variable in variables])

    means = strategy.experimental_local_results(tf.function(lambda: strategy.run(mean))())[0]
    for variable, value in zip(variables, means):
        variable.assign(value)


def as_floats(logs):
    return {name: float(value) for name, value in logs.items()}


def fit(strategy, config, run, train_arrays, val_arrays):
    """model.fit's work under `strategy`; same arguments and History as train.fit_on_one_device."""
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise SystemExit(f"train.py: --batch-size {config.batch_size} does not split evenly over "
                         f"{replicas} replicas")
    steps = len(train_arrays[0]) // config.batch_size
    if not steps:
        raise SystemExit(f"train.py: {len(train_arrays[0])} training images are fewer than one "
                         f"global batch (--batch-size {config.batch_size})")
    per_replica = config.batch_size // replicas
    with strategy.scope():
        model = training.build_compiled_model(config, run.classes, steps)
        model.optimizer.build(model.trainable_variables)
        saved_model = training.model_to_save(model, config, run.classes)
    # Where the chief's run stands; the others train into an empty scratch folder.
    best, start, since_best = broadcast_from_chief(strategy,
                                                   [run.best, run.start, run.since_best])
    run = dataclasses.replace(run, best=float(best), since_best=int(since_best))
    worker = f"worker {strategy.cluster_resolver.task_id}" if strategy.cluster_resolver else \
        "mirrored"
    progress = [keras.callbacks.ProgbarLogger()] if config.verbose else []
    callbacks = keras.callbacks.CallbackList(
        training.make_callbacks(config, run, saved_model)
        + progress + [PrintFingerprint(worker)],
        add_history=True, model=model, verbose=config.verbose, epochs=config.epochs, steps=steps)
    # The chief's backup callback restores its weights; outside the scope, since loading makes
    # a throwaway optimizer whose variables must not become (collective) mirrored ones.
    callbacks.on_train_begin()
    if start:
        state = model.variables + model.optimizer.variables
        for variable, value in zip(state, broadcast_from_chief(strategy, state)):
            variable.assign(value.astype(variable.dtype))
    train_data = distribute(strategy, train_arrays, per_replica,
                            **training.augmentation_of(config), take=steps * config.batch_size)
    val_data = distribute(strategy, val_arrays, per_replica)
    local_state = [variable for variable in model.non_trainable_variables
                   if "float" in str(variable.dtype)]

    @tf.function
    def train_step(batch):
        strategy.run(model.train_step, args=(batch,))
        return model.get_metrics_result()

    @tf.function
    def test_step(batch):
        strategy.run(model.test_step, args=(batch,))

    model.stop_training, logs = False, {}
    for epoch in range(int(start), config.epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        for step, batch in enumerate(train_data):
            callbacks.on_train_batch_begin(step)
            logs = as_floats(train_step(batch))
            callbacks.on_train_batch_end(step, logs)
        if local_state and replicas > 1:
            average_over_replicas(strategy, local_state)
        callbacks.on_test_begin()
        model.reset_metrics()
        for batch in val_data:
            test_step(batch)
        val_logs = {f"val_{name}": value
                    for name, value in as_floats(model.get_metrics_result()).items()}
        callbacks.on_test_end(val_logs)
        logs = {**logs, **val_logs}
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs)
    return model.history


def train_on_strategy(config):
    """training.train_into_run under the strategy of --distribute; non-chief workers train into
    a temporary folder."""
    strategy = make_strategy(config.distribute, config.peer_timeout)
    chief = strategy.extended.should_checkpoint
    done, = broadcast_from_chief(strategy, [float(chief and nothing_to_train(config.run_dir,
                                                                              config.epochs))])
    run_fit = partial(fit, strategy)
    if chief:
        return training.train_into_run(config, run_fit)
    if done:
        print(f"{config.run_dir} has nothing left to train on the chief; nothing to do")
        return {"status": "finished"}
    with tempfile.TemporaryDirectory(prefix="train-worker-") as scratch:
        return training.train_into_run(dataclasses.replace(config, runs=Path(scratch)), run_fit)


def train_distributed(config):
    """train.py's path for --distribute (a TrainConfig); a lost worker is a clear error, not a
    hang."""
    try:
        return train_on_strategy(config)
    except (tf.errors.UnavailableError, tf.errors.CancelledError,
            tf.errors.DeadlineExceededError) as error:
        raise SystemExit(f"train.py: lost contact with another worker ({error.message.strip()}); "
                         "start all workers again with the same arguments to resume from the "
                         "last finished epoch") from None
