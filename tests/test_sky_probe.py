"""tools/sky_probe.py: the generator's sky kind of each landscape, and a linear probe of a
network's pooled features that names it."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import dataset
import helpers
import mountains
from tools import sky_probe


def test_sky_labels_are_the_skies_that_the_members_seeds_draw():
    meta = {"source": "synthetic", "seed": 3,
            "members": {"val": [{"id": dataset.SYNTHETIC_ID.format(i)} for i in (5, 0, 17)]}}
    expected = [mountains.SKIES.index(mountains.scene_of((3, i)).sky) for i in (5, 0, 17)]
    assert sky_probe.sky_labels(meta, "val").tolist() == expected
    with pytest.raises(SystemExit, match="built-in landscapes"):
        sky_probe.sky_labels({"source": "photos", "members": {"val": []}}, "val")


def test_the_pooled_features_are_every_layers_mean_activation(tmp_path):
    import keras

    folder = helpers.make_member(tmp_path / "run", seed=1)
    model = keras.saving.load_model(folder / "model.keras", compile=False)
    lightness = np.random.default_rng(0).uniform(0, 100, (3, 16, 16, 1)).astype(np.float32)
    features = sky_probe.pooled_features(sky_probe.pooled_feature_model(model), lightness)
    assert features.shape == (3, 4 + 4 + 2)  # conv, upsampling, output
    output = model.predict(lightness / 50.0 - 1.0, verbose=0)
    np.testing.assert_allclose(features[:, -2:], output.mean(axis=(1, 2)), atol=1e-5)
    ensemble = keras.Model(model.input, model(model.input), name="ensemble")
    with pytest.raises(SystemExit, match="ensemble"):
        sky_probe.pooled_feature_model(ensemble)


def test_the_probe_learns_classes_that_the_features_separate():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, 400)
    features = rng.normal(size=(400, 6)) * 0.3
    features[np.arange(400), labels] += 2.0  # class k lifts feature k
    probe = sky_probe.fit_probe(features[:300], labels[:300], 4)
    probabilities = probe(features[300:])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert np.mean(probabilities.argmax(axis=1) == labels[300:]) > 0.9


def test_main_reports_each_runs_accuracy_and_each_photos_sky(tmp_path, capsys):
    dataset.build_synthetic(40, 16, 1, tmp_path / "data", workers=1)
    runs = [helpers.make_member(tmp_path / f"run{seed}", seed=seed) for seed in (1, 2)]
    photo_dir = tmp_path / "photos"
    photo_dir.mkdir()
    for index in range(3):
        pixels = np.random.default_rng(index).integers(0, 256, (24, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(photo_dir / f"p{index}.png")
    assert sky_probe.main([*map(str, runs), "--data", str(tmp_path / "data"),
                           "--photos", str(photo_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    accuracies = [float(line.split()[0]) for line in lines[1:3]]
    assert all(0.0 <= accuracy <= 1.0 for accuracy in accuracies)
    assert [line.split()[1] for line in lines[1:3]] == [str(run) for run in runs]
    rows = {line.split()[0]: [float(x) for x in line.split()[1:]]
            for line in lines if line.split() and line.split()[0].endswith(".png")}
    assert sorted(rows) == ["p0.png", "p1.png", "p2.png"]
    for probabilities in rows.values():
        assert len(probabilities) == len(mountains.SKIES)
        assert np.isclose(sum(probabilities), 1.0, atol=0.02)
    with pytest.raises(SystemExit, match="cannot read it"):  # not a run folder
        sky_probe.main([str(tmp_path), "--data", str(tmp_path / "data")])
    still_training = helpers.make_member(tmp_path / "run3", seed=3, status="running")
    with pytest.raises(SystemExit, match="run3: not a finished run"):
        sky_probe.main([str(still_training), "--data", str(tmp_path / "data")])


def test_an_ensemble_is_refused_with_the_run_checks_before_any_run_is_probed(tmp_path,
                                                                             monkeypatch):
    """An ensemble given after a network was found only once that network had been probed (and
    the ensemble loaded)."""
    import ensemble

    dataset.build_synthetic(40, 16, 1, tmp_path / "data", workers=1)
    members = [helpers.make_member(tmp_path / f"run{seed}", seed=seed) for seed in (1, 2)]
    assert ensemble.main([*map(str, members), "--out", str(tmp_path / "ensemble")]) == 0
    photo_dir = tmp_path / "photos"
    photo_dir.mkdir()
    pixels = np.random.default_rng(0).integers(0, 256, (24, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(photo_dir / "p0.png")
    probed, probe_run = [], sky_probe.probe_run

    def recorded(folder, *rest):
        probed.append(folder)
        return probe_run(folder, *rest)

    monkeypatch.setattr(sky_probe, "probe_run", recorded)
    with pytest.raises(SystemExit, match="ensemble"):
        sky_probe.main([str(members[0]), str(tmp_path / "ensemble"), "--data",
                        str(tmp_path / "data"), "--photos", str(photo_dir)])
    assert probed == []


@pytest.mark.parametrize("fractions, split", [((1.0, 0.0, 0.0), "val"),
                                              ((0.0, 1.0, 0.0), "train")])
def test_landscapes_with_an_empty_split_are_a_clear_exit(tmp_path, fractions, split):
    """dataset.py --split 1 0 0 leaves val empty: the probe was a ValueError traceback from
    np.concatenate once the network had loaded."""
    dataset.build_synthetic(10, 16, 1, tmp_path / "data", workers=1, fractions=fractions)
    run = helpers.make_member(tmp_path / "run1", seed=1)
    with pytest.raises(SystemExit, match=f"data: its {split} split is empty"):
        sky_probe.main([str(run), "--data", str(tmp_path / "data"),
                        "--photos", str(Path(__file__).resolve().parent.parent / "photos")])


def test_a_missing_photos_folder_is_named_before_the_landscapes_are_read(tmp_path, capsys):
    """--photos that is not a folder was found only after the landscapes were read and every
    run checked, and its line lacked the script's name."""
    with pytest.raises(SystemExit) as exit_info:
        sky_probe.main([str(tmp_path / "run"), "--data", str(tmp_path / "no-data"),
                        "--photos", str(tmp_path / "missing")])
    assert str(exit_info.value) == (f"sky_probe.py: --photos {tmp_path / 'missing'}: "
                                    "no such folder of photos")
