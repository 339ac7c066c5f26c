"""The Makefile's make-model dataset rule, run by make itself on a few real landscapes: another
MODEL_* setting renders the landscapes again and drops the networks trained on the old ones;
the same settings do nothing."""

import json
import subprocess
import sys
from pathlib import Path

import colorize

ROOT = Path(__file__).resolve().parents[1]


def make_model_data(tmp_path, *settings):
    """`make <data>/meta.json` with make model's paths moved under tmp_path; its stdout."""
    paths = {"MODEL_DATA": tmp_path / "data", "MODEL_MEMBERS_DIR": tmp_path / "members",
             "MODEL_OUT": tmp_path / "model"}
    command = ["make", "--no-print-directory", "-C", str(ROOT), str(paths["MODEL_DATA"] / "meta.json"),
               f"PY={sys.executable}", "STAMP=", *(f"{name}={path}" for name, path in paths.items()),
               *settings]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def trained_member(tmp_path):
    member = tmp_path / "members" / "member-s1"
    member.mkdir(parents=True, exist_ok=True)
    (member / "config.json").write_text("{}")
    return member


def test_another_model_setting_renders_again_and_drops_the_old_members(tmp_path):
    make_model_data(tmp_path, "MODEL_IMAGES=6")
    meta = json.loads((tmp_path / "data" / "meta.json").read_text())
    assert (meta["inputs"], meta["overhead"]) == (6, 0.0)
    member = trained_member(tmp_path)

    again = make_model_data(tmp_path, "MODEL_IMAGES=6")
    assert "wrote" not in again and member.is_dir()  # nothing changed: nothing rendered

    make_model_data(tmp_path, "MODEL_IMAGES=6", "MODEL_OVERHEAD=1")
    meta = json.loads((tmp_path / "data" / "meta.json").read_text())
    assert (meta["inputs"], meta["overhead"]) == (6, 1.0)
    assert not member.exists()  # trained on other landscapes


def test_rendering_the_same_landscapes_again_keeps_the_members(tmp_path):
    make_model_data(tmp_path, "MODEL_IMAGES=6")
    member = trained_member(tmp_path)
    (tmp_path / "data.args").unlink()  # as after an upgrade from before the settings were kept
    again = make_model_data(tmp_path, "MODEL_IMAGES=6")
    assert "the same landscapes as before" in again
    assert member.is_dir()


def test_sunset_light_renders_landscapes_mostly_lit_by_a_low_sun(tmp_path):
    make_model_data(tmp_path, "MODEL_IMAGES=6", "MODEL_LIGHT=sunset")
    meta = json.loads((tmp_path / "data" / "meta.json").read_text())
    assert (meta["sunsets"], meta["golden"], meta["alpenglow"], meta["twilight"]) == \
        (0.6, 0.5, 1.0, 1.0)


def make_plan(target):
    """What `make -n target` would run."""
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "-n", target,
                           f"PY={sys.executable}", "STAMP="],
                          check=True, capture_output=True, text=True).stdout


def test_make_model_hands_its_colorizing_steps_to_ensemble_py():
    plan = make_plan("model")
    assert "--agreed-octaves 4 --guided-radius 4 " in plan
    assert "--calibrate data/mountains-model --chroma-bands 12 " in plan


def test_make_model_sunset_keeps_its_own_landscapes_networks_and_model():
    plan = make_plan("model-sunset")
    model = colorize.LIGHT_MODELS["sunset"][0]  # where colorize.py --light sunset looks
    assert "--out data/mountains-model-sunset " in plan and "--sunsets 0.6 " in plan
    assert f"--runs {model}-members" in plan and f"--out {model} " in plan
    assert "data/mountains-model " not in plan and "runs/model-members" not in plan
    assert "colorize.py --light sunset your_photo.jpg" in plan
    assert "--agreed-octaves 0 --guided-radius 0 " in plan  # as make model-sunset was measured


def test_an_unknown_light_is_refused():
    result = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "-n", "model",
                             "MODEL_LIGHT=noon", "STAMP="], capture_output=True, text=True)
    assert result.returncode != 0 and "MODEL_LIGHT is any or sunset" in result.stderr
