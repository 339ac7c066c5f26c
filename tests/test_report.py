"""report.py: the README block replacement and the sentences the tables carry."""

import pytest

import report


def test_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="markers"):
        report.update_readme(readme, "block")
    assert readme.read_text() == "# no markers\n"


def test_readme_block_says_how_long_the_runs_trained():
    groups = {("unet", "seed", "mse"): [{"config": {"epochs": 9, "epochs_run": 5}}],
              ("resnet", "seed", "mse"): [{"config": {"epochs": 5}}]}
    labels = {("unet", "seed", "mse"): "U-Net", ("resnet", "seed", "mse"): "ResNet"}
    assert report.training_summary(groups, labels) == "Every run trained for 5 epochs."
    groups[("resnet", "seed", "mse")][0]["config"]["epochs"] = 7
    assert report.training_summary(groups, labels) == "Epochs per run: U-Net 5; ResNet 7."
