"""report.py: the README block replacement and the sentences the tables carry."""

import numpy as np
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


def comparison(b, versus_gray):
    return {"a": "U-Net", "b": b, "versus_gray": versus_gray, "metric": "auc", "diff": 0.01,
            "low": -0.01, "high": 0.03, "significant": False}


def test_photo_block_names_how_many_photos_were_scored():
    block = report.photos_readme_block([], [], 7, "7 real photos from `photos`")
    assert "with 7 photos only large gaps are significant" in block
    assert "20 photos" not in block


def test_photo_block_compares_with_gray_by_its_key_not_its_label():
    rows = [comparison("gray (ab = 0)", True), comparison("ResNet", False)]
    block = report.photos_readme_block([], rows, 7, "7 real photos")
    assert "| U-Net - gray (ab = 0) | AuC" in block
    assert "U-Net - ResNet" not in block


def test_photo_block_names_the_plots_it_shows_after_one_blank_line():
    plots = [("Colorfulness", "images/c.png")]
    for figures in ((), ("images/Photo_1.png",)):
        block = report.photos_readme_block([], [], 7, "7 real photos", figure_paths=figures,
                                           plots=plots)
        assert "\n\nThe same runs' colorfulness on the real photos:\n\n" in block
        assert "\n\n\n" not in block


def test_results_block_points_at_the_summary_it_was_given():
    block = report.readme_block([], [], "the 9 test images", "results/study/summary.md", [], [])
    assert "`results/study/summary.md` has every paired comparison" in block


def test_published_numbers_sit_only_beside_the_seed_studys_own_networks():
    entry = {"scores": {metric: np.array([0.5]) for metric, *_ in report.METRICS}}
    keys = [("unet", "seed", "mse"), ("unet", "large", "mse"), ("unet", "seed", "classification")]
    rows = report.table_rows({key: [entry] for key in keys}, {}, {key: str(key) for key in keys})
    published = [line.split(" | ")[3] for line in report.seed_table(rows).splitlines()[2:]]
    assert published == [f"{report.SEED_PUBLISHED['unet'][0]:.5f}", "-", "-"]
