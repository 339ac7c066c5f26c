"""study.py: the plan, the skip of finished runs, and one tiny end-to-end pipeline."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import study
import train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "data"
    subprocess.run([sys.executable, str(ROOT / "dataset.py"), "--synthetic", "40", "--size", "32",
                    "--out", str(out), "--workers", "1"], check=True, capture_output=True)
    return out


def test_plan_puts_seeds_outermost_and_uses_per_preset_epochs():
    args = study.parse_args(["--seeds", "2", "--models", "unet", "resnet"])
    plan = study.planned_runs(args)
    assert [run["seed"] for run in plan] == [0] * 4 + [1] * 4
    assert {run["epochs"] for run in plan if run["preset"] == "seed"} == {
        study.DEFAULT_EPOCHS["seed"]}
    assert plan[0]["run"] == "unet-seed-mse-s0"


def test_epochs_override_every_preset():
    plan = study.planned_runs(study.parse_args(["--epochs", "3"]))
    assert {run["epochs"] for run in plan} == {3}


def test_a_run_started_with_other_epochs_is_refused(tmp_path):
    run = {"run": "unet-seed-mse-s0", "epochs": 5}
    (tmp_path / run["run"]).mkdir()
    config = {"epochs": 4, "dataset_checksum": "checksum"}
    (tmp_path / run["run"] / "config.json").write_text(json.dumps(config))
    with pytest.raises(SystemExit, match="4 epochs"):
        study.run_status(tmp_path, run, "checksum")


def test_a_stale_run_started_with_other_epochs_is_trained_again_not_refused(tmp_path):
    run = {"run": "unet-seed-mse-s0", "epochs": 5}
    (tmp_path / run["run"]).mkdir()
    config = {"epochs": 4, "dataset_checksum": "old"}
    (tmp_path / run["run"] / "config.json").write_text(json.dumps(config))
    assert study.run_status(tmp_path, run, "new") == "stale"


def test_runs_on_another_dataset_of_photos_are_refused_not_deleted(tmp_path):
    run = {"run": "unet-seed-mse-s0", "epochs": 4}
    (tmp_path / run["run"]).mkdir()
    config = {"epochs": 4, "status": "finished", "dataset_checksum": "old"}
    (tmp_path / run["run"] / "config.json").write_text(json.dumps(config))
    assert study.run_status(tmp_path, run, "old") == "finished"
    run["status"] = study.run_status(tmp_path, run, "new")
    assert run["status"] == "stale"
    options = study.parse_args(["--data", str(tmp_path / "photos"), "--runs", str(tmp_path)])
    with pytest.raises(SystemExit, match="unet-seed-mse-s0 .* another dataset"):
        study.stale_runs([run], options, {"source": "images", "checksum": "new"})
    assert (tmp_path / run["run"] / "config.json").is_file()


def test_study_trains_evaluates_and_skips_finished_runs_on_rerun(tiny_data, tmp_path):
    command = [sys.executable, str(ROOT / "study.py"), "--data", str(tiny_data), "--no-build",
               "--models", "unet", "--presets", "seed", "--seeds", "1", "--epochs", "1",
               "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "results"),
               "--images", str(tmp_path / "figures"), "--photos", str(tmp_path / "none"),
               "--no-readme"]
    first = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "estimated time" in first.stdout
    model = tmp_path / "runs" / "unet-seed-mse-s0" / "model.keras"
    assert model.is_file()
    assert (tmp_path / "results" / "metrics.csv").is_file()
    stamp = model.stat().st_mtime_ns

    second = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "done" in second.stdout
    assert "run 1/" not in second.stdout
    assert model.stat().st_mtime_ns == stamp


def test_runs_on_landscapes_drawn_otherwise_since_are_trained_again(tmp_path):
    data = tmp_path / "data"
    render = [sys.executable, str(ROOT / "dataset.py"), "--synthetic", "40", "--size", "32",
              "--out", str(data), "--workers", "1"]
    subprocess.run(render, check=True, capture_output=True)
    command = [sys.executable, str(ROOT / "study.py"), "--data", str(data), "--models", "unet",
               "--presets", "seed", "--seeds", "1", "--epochs", "1", "--runs",
               str(tmp_path / "runs"), "--out", str(tmp_path / "results"), "--photos",
               str(tmp_path / "none"), "--no-readme"]
    first = subprocess.run([*command, "--no-evaluate"], capture_output=True, cwd=tmp_path)
    assert first.returncode == 0
    config = tmp_path / "runs" / "unet-seed-mse-s0" / "config.json"
    before = json.loads(config.read_text())["dataset_checksum"]
    subprocess.run([*render, "--seed", "1"], check=True, capture_output=True)  # other landscapes

    again = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "trains again" in again.stdout and "training it again" in again.stdout
    after = json.loads(config.read_text())
    meta = json.loads((data / "meta.json").read_text())
    assert after["dataset_checksum"] == meta["checksum"] != before
    assert after["status"] == "finished"
    assert (tmp_path / "results" / "metrics.csv").is_file()


def test_a_dataset_of_another_generator_is_rendered_again_as_it_was_asked_for(tmp_path, capsys):
    folder = tmp_path / "data"
    subprocess.run([sys.executable, str(ROOT / "dataset.py"), "--synthetic", "12", "--size", "32",
                    "--seed", "2", "--shadows", "0.5", "--out", str(folder), "--workers", "1"],
                   check=True, capture_output=True)
    meta_path = folder / "meta.json"
    before = json.loads(meta_path.read_text())
    stale = dict(before, generator_fingerprint={"version": 1, "rendering_sha256": "0" * 64})
    meta_path.write_text(json.dumps(stale))
    plan = ["--data", str(folder), "--models", "unet", "--presets", "seed", "--seeds", "1",
            "--epochs", "1", "--runs", str(tmp_path / "runs"), "--plan-only"]
    with pytest.raises(SystemExit, match="another version of the landscape generator"):
        study.main([*plan, "--no-build"])
    assert study.main(plan) == 0
    assert "rendering" in capsys.readouterr().out
    after = json.loads(meta_path.read_text())
    assert after["generator_fingerprint"] == before["generator_fingerprint"]
    assert (after["inputs"], after["size"], after["seed"], after["shadows"]) == (12, 32, 2, 0.5)
    assert after["checksum"] == before["checksum"]  # the same landscapes: runs on them stay valid


def test_missing_dataset_without_build_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "study.py"), "--data",
                             str(tmp_path / "nothing"), "--no-build"],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "no dataset" in result.stderr


def test_an_unknown_loss_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        study.parse_args(["--loss", "nonsense"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("option", ["--seeds", "--synthetic", "--size", "--batch-size"])
def test_a_count_below_one_is_a_usage_error_before_tensorflow_loads(option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        study.parse_args([option, "0"])
    assert exit_info.value.code == 2
    assert option in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--runs", "--out", "--images"])
def test_an_output_folder_inside_a_file_is_a_usage_error_before_training(tmp_path, capsys,
                                                                         option):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_info:
        study.parse_args([option, str(tmp_path / "notes.txt" / "study")])
    assert exit_info.value.code == 2
    assert f"{tmp_path / 'notes.txt'} is a file" in capsys.readouterr().err


def test_run_names_are_train_pys_default_names():
    plan = study.planned_runs(study.parse_args(["--loss", "classification", "--seeds", "2"]))
    for run in plan:
        config = train.parse_args(["--model", run["model"], "--preset", run["preset"],
                                   "--loss", "classification", "--seed", str(run["seed"])])
        assert run["run"] == config.run
    assert plan[0]["run"] == "autoencoder-seed-classification-s0"


def test_calibration_times_the_network_and_loss_the_runs_will_train(monkeypatch):
    """--loss classification trains a head of bin logits and the rebalanced loss: the time
    estimate has to measure that network, not the MSE one."""
    import training

    built = []

    def recording(config, *rest):
        model = build_compiled_model(config, *rest)
        built.append((config.loss, model.output.shape[-1]))
        return model
    build_compiled_model = training.build_compiled_model
    monkeypatch.setattr(training, "build_compiled_model", recording)
    assert study.calibrate("resnet", "seed", "classification", 32, 2) > 0
    assert built[0][0] == "classification" and built[0][1] > 2  # logits over ab bins


def test_a_failing_evaluation_is_a_clear_exit_not_a_traceback(tmp_path):
    config = study.parse_args(["--data", str(tmp_path / "data"), "--runs", str(tmp_path / "none"),
                               "--no-readme"])
    with pytest.raises(SystemExit, match="evaluate.py failed"):
        study.run_evaluate(config, "--out", str(tmp_path / "out"))
