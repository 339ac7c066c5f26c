"""Average several finished runs into one run folder whose model.keras predicts their mean colour.

    python ensemble.py runs/model-members/member-s1 runs/model-members/member-s2 \
        runs/model-members/member-s3 --out runs/model

The members must be finished train.py runs of one image size: several seeds of one recipe, or
networks of different families, whose mistakes differ more. The ensemble is a run folder like
any other: evaluate.py scores it and colorize.py uses it, with no special case; its config.json
is its first member's, with the members listed, the seed, model, preset and loss replaced by
theirs and the stride by the least common multiple of theirs. The model.keras keeps the project's contract
(L/50-1 in, ab/128 out) and is written atomically, config.json last.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import cli
import files


NETWORK_KEYS = ("model", "preset", "width", "loss", "seed")  # one trained network


class EnsembleError(Exception):
    pass


def read_member(folder):
    """A finished run's config.json, or an EnsembleError that says what is wrong with it."""
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise EnsembleError(f"{folder}: no readable config.json ({error})") from None
    if config.get("status") != "finished" or not (folder / "model.keras").is_file():
        raise EnsembleError(f"{folder}: not a finished run (train it to the end first)")
    return config


def ensemble_config(folders, configs, out):
    """The ensemble's config.json: what evaluate.py and colorize.py read, and its members.

    Members may be of different families (an Autoencoder and a U-Net make different mistakes):
    the ensemble's stride is then the least common multiple of theirs, and its model, preset
    and loss name every one that takes part ("unet+autoencoder")."""
    sizes = {config.get("image_size") for config in configs}
    if len(sizes) > 1:
        raise EnsembleError(f"the members differ in image_size: {sorted(map(str, sizes))}")
    networks = [tuple(config.get(key) for key in NETWORK_KEYS) for config in configs]
    if len(set(networks)) < len(networks):
        seeds = [config.get("seed") for config in configs]
        raise EnsembleError(f"members of one recipe with the same seed are one network twice: "
                            f"seeds {seeds}")
    record = dict(configs[0])
    for key in ("best_val_loss", "best_epoch", "images_per_second", "epochs_run"):
        record.pop(key, None)  # a member's own results, not the ensemble's
    for key in ("model", "preset", "loss"):
        record[key] = "+".join(dict.fromkeys(str(config.get(key)) for config in configs))
    seeds = [config.get("seed") for config in configs]
    record.update(run=Path(out).name, run_name=Path(out).name, runs=str(Path(out).parent),
                  seed="+".join(map(str, seeds)),
                  stride=math.lcm(*(int(config.get("stride", 1)) for config in configs)),
                  members=[{"run": str(folder), "model": config.get("model"),
                            "seed": config.get("seed"),
                            "best_val_loss": config.get("best_val_loss")}
                           for folder, config in zip(folders, configs)])
    return record


def write_ensemble(folders, out):
    """Build and save the average of the members; returns the config.json written."""
    import models  # Keras loads here, so that --help and argument errors stay instant

    configs = [read_member(folder) for folder in folders]
    record = ensemble_config(folders, configs, out)
    import keras

    members = [keras.saving.load_model(Path(folder) / "model.keras", compile=False)
               for folder in folders]
    model = models.average_of(members, name=f"ensemble-{Path(out).name}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with files.atomic_path(out / "model.keras", suffix=".keras") as tmp:
        model.save(tmp)
    files.write_json_atomic(out / "config.json", record)
    return record


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("members", nargs="+", type=Path, help="finished run folders")
    parser.add_argument("--out", type=Path, required=True, help="the ensemble's run folder")
    args = parser.parse_args(argv)
    if len(args.members) < 2:
        parser.error("an ensemble needs at least two member runs")
    if args.out.resolve() in {member.resolve() for member in args.members}:
        parser.error("--out must not be one of the members")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        record = write_ensemble(args.members, args.out)
    except EnsembleError as error:
        raise SystemExit(f"ensemble.py: {error}") from None
    print(f"wrote {args.out}: the mean of {len(record['members'])} runs "
          f"(seeds {record['seed']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
