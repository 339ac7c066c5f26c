"""What one training run is, in plain Python: TrainConfig (every option of train.py) and the
names and defaults those options take.

models.py, training.py and ab_classes.py take their names and defaults from here, so that the
command lines that offer them (train.py, study.py) can build their parsers, answer --help and
refuse a bad argument without loading TensorFlow, which takes seconds.
"""

import dataclasses
from pathlib import Path

MODELS = ("autoencoder", "resnet", "unet")  # network families (models.BUILDERS)
PRESETS = ("seed", "large")  # the seed study's graphs, and modern ones at a similar budget
HEADS = ("regression", "classification")  # ab at full resolution, or logits over ab bins
LOSSES = ("mse", "mae", "huber", "distance", "classification")
OPTIMIZERS = ("adam", "rmsprop")
PRECISIONS = ("auto", "float32", "bfloat16")

# Classification (ab_classes.py, after Zhang et al. 2016)
NEIGHBOURS = 5  # soft-encoding: the paper's 5 nearest bins (the official code used 10)
SIGMA = 5.0  # soft-encoding and prior smoothing Gaussian, in ab units
MIX = 0.5  # lambda: share of the uniform distribution in the rebalancing prior
TEMPERATURE = 0.38  # annealed mean: T -> 0 gives the mode, T = 1 the mean


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every option of train.py, by the names of its flags (see train.parse_args for them)."""

    model: str
    preset: str
    width: float
    data: Path
    epochs: int
    batch_size: int
    loss: str
    huber_delta: float
    neighbours: int
    sigma: float
    rebalance_mix: float
    mse_weight: float
    temperature: float
    optimizer: str
    learning_rate: float
    cosine: bool
    weight_decay: float
    precision: str
    flip: bool
    tone: float
    hue: float
    sharpen: float
    patience: int
    tensorboard: bool
    steps_per_execution: int
    xla: bool
    seed: int
    runs: Path
    run: str
    distribute: str
    peer_timeout: float
    verbose: int

    def arguments(self):
        """The options as config.json records and compares them (paths as strings)."""
        return {key: str(value) if isinstance(value, Path) else value
                for key, value in sorted(dataclasses.asdict(self).items())}

    @property
    def run_dir(self):
        return Path(self.runs) / self.run

    @property
    def head(self):
        return "classification" if self.loss == "classification" else "regression"


# Options that do not change what a run trains: where it writes and reads (a moved runs/ or data/
# holds the same run; its dataset counts by the checksum config.json records), how much it
# prints, how it steps through TensorFlow, whether it logs for TensorBoard. A run reopened with
# other values of them resumes (runs.changed_arguments); network_of leaves them out. The run's
# name (--run) changes no weight either, but is no such option: config.json records it as the
# run's name, so a reopened run keeps the one it started with.
NOT_TRAINING = ("runs", "data", "verbose", "tensorboard", "peer_timeout", "steps_per_execution")


def network_of(config):
    """What made one trained network, from its config.json: every TrainConfig option that
    changes the weights, and the dataset's checksum. ensemble.py tells a member given twice by
    it, evaluate.py runs of unlike recipes (all but the seed). An option missing from an older
    config.json and one left off (0, False, "") both read None, as a resumed run judges them."""
    keys = [field.name for field in dataclasses.fields(TrainConfig)
            if field.name not in NOT_TRAINING and field.name != "run"] + ["dataset_checksum"]
    return {key: config.get(key) or None for key in keys}
