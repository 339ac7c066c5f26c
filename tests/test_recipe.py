"""recipe.py: network_of tells networks apart by what trains them, and only by that."""

import dataclasses

import recipe

CONFIG = {"model": "unet", "preset": "seed", "seed": 0, "epochs": 30, "loss": "mse",
          "run": "unet-seed-mse-s0", "runs": "runs", "data": "data/x", "verbose": 1,
          "tensorboard": False, "peer_timeout": 300, "steps_per_execution": 1,
          "dataset_checksum": "abc123"}


def test_network_of_ignores_the_options_that_change_no_weight_and_the_run_name():
    other = {**CONFIG, **{name: f"other {name}" for name in recipe.NOT_TRAINING},
             "run": "renamed"}
    assert recipe.network_of(other) == recipe.network_of(CONFIG)


def test_network_of_tells_apart_every_other_option_and_the_dataset():
    names = [field.name for field in dataclasses.fields(recipe.TrainConfig)
             if field.name not in recipe.NOT_TRAINING and field.name != "run"]
    for name in names + ["dataset_checksum"]:
        assert recipe.network_of({**CONFIG, name: "changed"}) != recipe.network_of(CONFIG), name
