"""evaluate.py: the command on tiny real runs and a tiny dataset, and its figures and tables."""

import csv
import json
import shutil
from pathlib import Path

import cpu  # noqa: F401, I001  (before TensorFlow, as every entry point does)
import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image

import ab_classes
import colorize
import evaluate
import figures
import helpers
import lab
import metrics
import photos
import report

SIZE = 32


# --------------------------------------------------------------------------- helpers


def smooth_image(rng):
    """A 32x32 sRGB image with colour gradients, so Lab ab is not constant."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    base = rng.uniform(0.1, 0.9, size=3)
    slope = rng.uniform(-0.4, 0.4, size=(2, 3))
    rgb = base + x[..., None] * slope[0] + y[..., None] * slope[1]
    return np.clip(rgb * 255, 0, 255).astype(np.uint8)


def write_tiny_dataset(folder, count=12, seed=0, fractions=(0.4, 0.2, 0.4)):
    rng = np.random.default_rng(seed)
    images = [smooth_image(rng) for _ in range(count)]
    return helpers.write_images(folder, images, [f"img-{i}" for i in range(count)], "test",
                                fractions)


def tiny_model(filters, loss):
    """L/50-1 in, ab/128 out; for loss="classification" a stride-4 logits model wrapped in its
    annealed-mean decoder, the way train.py saves one."""
    inputs = keras.Input(shape=(None, None, 1))
    if loss != "classification":
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
        return keras.Model(inputs, layers.Conv2D(2, 3, padding="same", activation="tanh")(x))
    bins = ab_classes.quantized_gamut()
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
    logits = keras.Model(inputs, ab_classes.classification_head(x, len(bins), downsample=4))
    return ab_classes.ab_output_model(logits, bins)


def write_run(runs, name, meta, data, model="unet", seed=0, filters=4, image_size=None,
              loss="mse"):
    """A real run folder: a tiny functional model honouring the I/O contract, config, history."""
    folder = runs / name
    folder.mkdir(parents=True)
    keras.utils.set_random_seed(seed)
    tiny_model(filters, loss).save(folder / "model.keras")
    config = {"model": model, "preset": "seed", "loss": loss, "seed": seed, "data": str(data),
              "dataset_checksum": meta["checksum"], "image_size": image_size or meta["size"],
              "stride": 4 if loss == "classification" else 1,
              "versions": {"keras": keras.__version__}, "run_name": name, "status": "finished"}
    (folder / "config.json").write_text(json.dumps(config))
    losses = (4.1, 3.6, 3.4) if loss == "classification" else (0.05, 0.03, 0.02)
    with open(folder / "history.csv", "w") as f:
        f.write("epoch,loss,val_loss\n" + "".join(f"{epoch},{value},{value * 1.2}\n"
                                                 for epoch, value in enumerate(losses)))
    return folder


def write_readme(path):
    text = ("# Title\n\nBefore the block.\n\n"
            f"{report.README_START}\nold results\n{report.README_END}\n\nAfter the block.\n")
    path.write_text(text)
    return text


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A tiny dataset, three runs (unet with two seeds, resnet with one), evaluated once."""
    root = tmp_path_factory.mktemp("project")
    data = root / "data"
    meta = write_tiny_dataset(data)
    assert meta["counts"]["test"] >= 2, "the tiny dataset needs test images"
    runs = root / "runs"
    write_run(runs, "unet-seed-mse-s0", meta, data, "unet", seed=0)
    write_run(runs, "unet-seed-mse-s1", meta, data, "unet", seed=1)
    write_run(runs, "resnet-seed-mse-s0", meta, data, "resnet", seed=0, filters=3)
    readme = root / "README.md"
    original = write_readme(readme)
    argv = ["--data", str(data), "--runs", str(runs), "--out", str(root / "results"),
            "--images", str(root / "images"), "--figures", "3", "--bootstrap", "200",
            "--update-readme", "--readme", str(readme)]
    assert evaluate.main(argv) == 0
    return {"root": root, "data": data, "meta": meta, "runs": runs, "readme": readme,
            "readme_before": original, "argv": argv}


# --------------------------------------------------------------------------- figure choice


def test_figure_indices_are_evenly_spaced_and_fixed():
    assert list(evaluate.figure_indices(100, 5)) == [0, 25, 50, 74, 99]
    assert list(evaluate.figure_indices(3, 12)) == [0, 1, 2]


# --------------------------------------------------------------------------- the command


def test_metrics_csv_has_one_row_per_run_and_baseline(project):
    rows = read_csv(project["root"] / "results" / "metrics.csv")
    names = sorted(row["name"] for row in rows)
    assert names == ["baseline-gray", "baseline-mean", "resnet-seed-mse-s0", "unet-seed-mse-s0",
                     "unet-seed-mse-s1"]
    gray = next(row for row in rows if row["name"] == "baseline-gray")
    assert float(gray["seed_accuracy"]) > 0


def test_per_image_csv_has_every_test_image_for_every_row(project):
    rows = read_csv(project["root"] / "results" / "per_image.csv")
    test_count = project["meta"]["counts"]["test"]
    assert len(rows) == 5 * test_count
    ids = {row["image_id"] for row in rows}
    assert ids == {m["id"] for m in project["meta"]["members"]["test"]}


def test_summary_shows_spread_for_two_seeds_and_none_for_one(project):
    summary = (project["root"] / "results" / "summary.md").read_text()
    unet = next(line for line in summary.splitlines() if line.startswith("| U-Net | n=2"))
    resnet = next(line for line in summary.splitlines() if line.startswith("| ResNet | n=1"))
    assert "±" in unet
    assert "±" not in resnet


def test_summary_compares_each_pair_and_each_model_with_gray(project):
    summary = (project["root"] / "results" / "summary.md").read_text()
    assert "| ResNet - U-Net | AuC" in summary
    assert "| ResNet - gray baseline | AuC" in summary
    assert "| U-Net - gray baseline | AuC" in summary


def test_figures_are_pngs_of_readme_width(project):
    images = project["root"] / "images"
    width = figures.FIGURE_WIDTH_IN * figures.FIGURE_DPI
    for index in (1, 2, 3):
        figure_width, figure_height = png_size(images / f"Figure_{index}.png")
        assert figure_width == width
        # four columns (input, ResNet, U-Net, original): one square panel plus a title line
        assert figure_height == round((figures.FIGURE_WIDTH_IN / 4 + 0.4) * figures.FIGURE_DPI)
    assert not (images / "Figure_4.png").exists()
    for name in ("curves.png", "auc.png", "colorfulness.png"):
        assert png_size(images / name)[0] == width


def test_readme_block_is_replaced_and_outside_text_kept(project):
    text = project["readme"].read_text()
    before, _, rest = project["readme_before"].partition(report.README_START)
    _, _, after = rest.partition(report.README_END)
    assert text.startswith(before + report.README_START)
    assert text.endswith(report.README_END + after)
    assert "old results" not in text
    assert "![Figure 1](images/Figure_1.png)" in text
    assert "0.00350" in text  # the seed study's published U-Net loss, beside ours


def test_readme_update_twice_changes_nothing(project):
    first = project["readme"].read_text()
    assert evaluate.main(project["argv"]) == 0
    assert project["readme"].read_text() == first


def bad_setup(project, tmp_path, breaker):
    """A copy of the project's runs plus one broken by breaker(run folder)."""
    runs = tmp_path / "runs"
    shutil.copytree(project["runs"], runs)
    folder = runs / "unet-seed-mse-s0"
    breaker(folder)
    argv = ["--data", str(project["data"]), "--runs", str(runs), "--out", str(tmp_path / "out"),
            "--images", str(tmp_path / "images"), "--figures", "1", "--bootstrap", "100"]
    return argv


def edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def test_run_from_another_dataset_is_refused_by_name(project, tmp_path):
    argv = bad_setup(project, tmp_path, lambda f: edit_config(f, dataset_checksum="0" * 64))
    with pytest.raises(SystemExit, match="unet-seed-mse-s0: trained on another dataset"):
        evaluate.main(argv)
    assert not (tmp_path / "out" / "metrics.csv").exists()


def test_run_of_another_image_size_is_refused_by_name(project, tmp_path):
    argv = bad_setup(project, tmp_path, lambda f: edit_config(f, image_size=64))
    with pytest.raises(SystemExit, match="unet-seed-mse-s0: trained on 64x64"):
        evaluate.main(argv)


def test_run_without_model_is_refused_by_name(project, tmp_path):
    argv = bad_setup(project, tmp_path, lambda f: (f / "model.keras").unlink())
    with pytest.raises(SystemExit, match="unet-seed-mse-s0.*model.keras is missing"):
        evaluate.main(argv)


def test_unfinished_run_is_refused_by_name(project, tmp_path):
    """A run still training has a best-so-far model.keras: scoring it as a seed would be wrong."""
    argv = bad_setup(project, tmp_path, lambda f: edit_config(f, status="running"))
    with pytest.raises(SystemExit, match="unet-seed-mse-s0.*not a finished run"):
        evaluate.main(argv)
    assert evaluate.main(argv + ["--skip-bad"]) == 0
    names = {row["name"] for row in read_csv(tmp_path / "out" / "metrics.csv")}
    assert "unet-seed-mse-s0" not in names and "unet-seed-mse-s1" in names
    assert "unet-seed-mse-s0" in (tmp_path / "out" / "summary.md").read_text()


def test_two_runs_with_the_same_seed_in_a_group_are_refused_before_scoring(project, tmp_path):
    def twin(folder):
        shutil.copytree(folder, folder.with_name("unet-again"))
        edit_config(folder.with_name("unet-again"), run_name="unet-again")
    argv = bad_setup(project, tmp_path, twin)
    with pytest.raises(SystemExit, match="unet-again.*same seed 0"):
        evaluate.main(argv)
    assert not (tmp_path / "out").exists()


def test_runs_of_other_recipes_in_one_group_are_refused_naming_what_differs(project, tmp_path):
    argv = bad_setup(project, tmp_path,
                     lambda f: edit_config(f, epochs=5, learning_rate=0.002))
    with pytest.raises(SystemExit, match=r"trained differently \(epochs: .*learning_rate: "):
        evaluate.main(argv)
    assert evaluate.main(argv + ["--skip-bad"]) == 0  # the group is left out, ResNet is scored
    names = {row["name"] for row in read_csv(tmp_path / "out" / "metrics.csv")}
    assert names == {"resnet-seed-mse-s0", "baseline-gray", "baseline-mean"}


def test_an_ensemble_and_a_single_run_of_one_model_are_refused_not_crashed(project, tmp_path):
    """ensemble.py records seed "1+2" (text), train.py a number: the group used to crash when
    its seeds were sorted, after every run had been scored."""
    argv = bad_setup(project, tmp_path,
                     lambda f: edit_config(f, seed="1+2", members=[{"seed": 1}, {"seed": 2}]))
    with pytest.raises(SystemExit, match="trained differently .*networks: 1, 2"):
        evaluate.main(argv)


def test_ensembles_that_keep_agreed_detail_and_plain_ones_are_two_recipes(project, tmp_path):
    argv = bad_setup(project, tmp_path, lambda f: edit_config(f, agreed_octaves=4))
    with pytest.raises(SystemExit, match="trained differently .*agreed octaves: 0, 4"):
        evaluate.main(argv)


def test_seeds_sort_numbers_numerically_and_ensembles_after_them_without_failing():
    seeds = [10, "1+2+3", 2, "13+14+15", "7+8+9"]
    assert sorted(seeds, key=evaluate.seed_order) == [2, 10, "1+2+3", "13+14+15", "7+8+9"]


def test_skip_bad_evaluates_the_other_runs_and_lists_the_bad_one(project, tmp_path):
    argv = bad_setup(project, tmp_path, lambda f: edit_config(f, dataset_checksum="0" * 64))
    assert evaluate.main(argv + ["--skip-bad"]) == 0
    names = {row["name"] for row in read_csv(tmp_path / "out" / "metrics.csv")}
    assert "unet-seed-mse-s0" not in names
    assert {"unet-seed-mse-s1", "resnet-seed-mse-s0"} <= names
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "unet-seed-mse-s0: trained on another dataset" in summary


def test_empty_test_split_is_an_error(project, tmp_path):
    data = tmp_path / "data"
    write_tiny_dataset(data, count=3, fractions=(0.5, 0.5, 0.0))
    argv = ["--data", str(data), "--runs", str(project["runs"]), "--out", str(tmp_path / "out"),
            "--images", str(tmp_path / "images")]
    with pytest.raises(SystemExit, match="test split is empty"):
        evaluate.main(argv)


def write_photos(folder, count=3):
    """Real image files of another shape than the runs': prepare_photos crops and resizes them."""
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(count):
        rgb = np.asarray(Image.fromarray(smooth_image(rng)).resize((48, 40)))
        Image.fromarray(rgb).save(folder / f"photo-{i}.png")


def test_photos_are_scored_whatever_dataset_the_runs_saw(project, tmp_path):
    write_photos(tmp_path / "photos")

    def another_dataset(folder):  # every run of the copy: no group mixes two datasets
        for run in folder.parent.iterdir():
            edit_config(run, dataset_checksum="0" * 64)
    argv = bad_setup(project, tmp_path, another_dataset)
    assert evaluate.main(argv + ["--photos", str(tmp_path / "photos")]) == 0
    rows = read_csv(tmp_path / "out" / "per_image.csv")
    assert {row["image_id"] for row in rows} == {"photo-0.png", "photo-1.png", "photo-2.png"}
    assert "unet-seed-mse-s0" in {row["name"] for row in rows}


def test_photos_refuse_to_pool_seeds_trained_on_two_datasets(project, tmp_path):
    write_photos(tmp_path / "photos")
    argv = bad_setup(project, tmp_path, lambda f: edit_config(f, dataset_checksum="0" * 64))
    with pytest.raises(SystemExit, match="trained differently \\(dataset_checksum: "):
        evaluate.main(argv + ["--photos", str(tmp_path / "photos")])


def test_photos_fill_their_own_readme_block_with_real_photo_figures(project, tmp_path):
    write_photos(tmp_path / "photos")
    readme = tmp_path / "README.md"
    results = f"{report.README_START}\nsynthetic results\n{report.README_END}\n"
    readme.write_text(f"# T\n\n{results}\n{report.PHOTOS_README_START}\nSTALE\n"
                      f"{report.PHOTOS_README_END}\n\nAfter.\n")
    argv = ["--data", str(project["data"]), "--runs", str(project["runs"]),
            "--out", str(tmp_path / "out"), "--images", str(tmp_path / "figures"),
            "--photos", str(tmp_path / "photos"), "--bootstrap", "200",
            "--update-readme", "--readme", str(readme)]
    assert evaluate.main(argv) == 0
    text = readme.read_text()
    assert results in text and text.endswith(f"{report.PHOTOS_README_END}\n\nAfter.\n")
    block = text.split(report.PHOTOS_README_START)[1].split(report.PHOTOS_README_END)[0]
    assert "STALE" not in block and "3 real photos from" in block
    assert "with 3 photos only large gaps" in block
    assert "| U-Net | n=2 |" in block and "| gray baseline (ab = 0) | - |" in block
    assert "U-Net - gray baseline | ab RMSE" in block
    comparisons = block.split("Each model against the gray baseline")[1]
    rows = [line for line in comparisons.splitlines() if line.startswith("| ") and "|---" not in
            line and not line.startswith("| comparison")]
    assert len(rows) == 4 and all(" - gray baseline |" in row for row in rows)  # 2 groups x 2
    # the photos' own figures, labelled as real, never the landscapes' Figure_N
    assert "![Real photo 1](figures/Photo_1.png)" in block and "Figure_" not in block
    assert (tmp_path / "figures" / "Photo_3.png").is_file()
    assert not (tmp_path / "figures" / "Figure_1.png").exists()
    # their own error and colour plots, linked; the training curves do not depend on the photos
    for name in ("auc", "colorfulness"):
        assert f"on the real photos](figures/{name}.png)" in block
        assert (tmp_path / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "figures" / "curves.png").exists() and "curves.png" not in block


def strided_model(stride=4):
    """L/50-1 in, ab/128 out through `stride` times down and up: sides that are not multiples
    of the stride come out another shape (38 -> 19 -> 9 -> 36)."""
    inputs = keras.Input(shape=(None, None, 1))
    x = layers.Conv2D(3, 3, padding="same", activation="relu")(inputs)
    for _ in range(stride // 2):
        x = layers.MaxPooling2D()(x)
    for _ in range(stride // 2):
        x = layers.UpSampling2D()(x)
    return keras.Model(inputs, layers.Conv2D(2, 3, padding="same", activation="tanh")(x))


def test_whole_frames_are_scored_whole_padded_to_the_models_stride(project, tmp_path):
    write_photos(tmp_path / "photos")  # 48x40: whole frames of 38x32 at the runs' 32 px
    runs = tmp_path / "runs"
    shutil.copytree(project["runs"], runs)
    shutil.rmtree(runs / "resnet-seed-mse-s0")
    for folder in runs.iterdir():
        strided_model().save(folder / "model.keras")
        edit_config(folder, stride=4)
    argv = ["--data", str(project["data"]), "--runs", str(runs), "--out", str(tmp_path / "out"),
            "--images", str(tmp_path / "figures"), "--photos", str(tmp_path / "photos"),
            "--figures", "2", "--bootstrap", "100"]
    assert evaluate.main(argv + ["--whole-frames"]) == 0

    frames, ids, _ = photos.prepare_photos(tmp_path / "photos", SIZE, photos.FRAME, workers=1)
    assert {frame.shape for frame in frames} == {(32, 38, 3)}
    rows = read_csv(tmp_path / "out" / "per_image.csv")
    gray = {row["image_id"]: float(row["auc"]) for row in rows if row["name"] == "baseline-gray"}
    for frame, photo_id in zip(frames, ids):
        lightness, ab = lab.split_lab(lab.rgb_to_lab(frame))
        whole = metrics.score_batch(lightness[None], ab[None], np.zeros_like(ab)[None])["auc"]
        assert gray[photo_id] == pytest.approx(float(whole[0]), abs=1e-5)
    assert {row["name"] for row in rows} >= {"unet-seed-mse-s0", "unet-seed-mse-s1"}
    # the second and third photos share the first one's shape: traced graphs score them, and
    # they must score as the model run eagerly, one operation at a time, does
    model = keras.saving.load_model(runs / "unet-seed-mse-s0" / "model.keras")
    run = {row["image_id"]: float(row["auc"]) for row in rows
           if row["name"] == "unet-seed-mse-s0"}
    for frame, photo_id in zip(frames, ids):
        lightness, ab = lab.split_lab(lab.rgb_to_lab(frame))
        eager = colorize.padded_prediction(lambda x: model(x, training=False),
                                           lightness[..., 0], 4)
        auc = metrics.score_batch(lightness[None], ab[None], eager[None])["auc"]
        assert run[photo_id] == pytest.approx(float(auc[0]), abs=1e-5)
    assert "whole (shorter side 32 px)" in (tmp_path / "out" / "summary.md").read_text()
    width, height = png_size(tmp_path / "figures" / "Photo_1.png")

    assert evaluate.main(argv) == 0  # centre squares: the same photos, less of each
    squares = {row["image_id"]: float(row["auc"]) for row in
               read_csv(tmp_path / "out" / "per_image.csv") if row["name"] == "baseline-gray"}
    assert squares.keys() == gray.keys() and squares != gray
    square_width, square_height = png_size(tmp_path / "figures" / "Photo_1.png")
    assert width == square_width == 960 and height < square_height  # panels as low as frames


@pytest.mark.parametrize("extra", [[], ["--photos", "photos", "--update-readme"]])
def test_whole_frames_need_photos_and_leave_the_readme_alone(extra):
    with pytest.raises(SystemExit) as exit_info:
        evaluate.parse_args(["--whole-frames", *extra])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("option", ["--out", "--images"])
@pytest.mark.parametrize("inside", ["", "figures"])
def test_an_output_folder_that_is_or_is_inside_a_file_is_a_usage_error(tmp_path, capsys, option,
                                                                        inside):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_info:
        evaluate.parse_args([option, str(tmp_path / "notes.txt" / inside)])
    assert exit_info.value.code == 2
    assert f"{tmp_path / 'notes.txt'} is a file" in capsys.readouterr().err


@pytest.mark.parametrize("size", ["0", "-5"])
def test_photos_refuse_a_size_below_one_pixel_naming_size(size, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluate.parse_args(["--photos", "photos", "--size", size])
    assert exit_info.value.code == 2 and "--size must be a positive" in capsys.readouterr().err


@pytest.mark.parametrize("photos", [False, True])
def test_update_readme_refuses_a_missing_readme_before_writing_anything(project, tmp_path,
                                                                         photos):
    argv = bad_setup(project, tmp_path, lambda f: None)
    if photos:
        write_photos(tmp_path / "photos")
        argv += ["--photos", str(tmp_path / "photos")]
    missing = tmp_path / "MISSING.md"
    with pytest.raises(SystemExit, match=f"{missing}: no such README"):
        evaluate.main(argv + ["--update-readme", "--readme", str(missing)])
    assert not (tmp_path / "out").exists() and not (tmp_path / "images").exists()


def test_update_readme_with_photos_refuses_a_readme_without_their_markers_before_writing(
        project, tmp_path):
    """The results markers are not enough: --photos rewrites the real-photos block."""
    write_photos(tmp_path / "photos")
    readme = tmp_path / "README.md"
    before = write_readme(readme)
    argv = bad_setup(project, tmp_path, lambda f: None)
    with pytest.raises(SystemExit, match=f"needs the markers {report.PHOTOS_README_START}"):
        evaluate.main(argv + ["--photos", str(tmp_path / "photos"), "--update-readme",
                              "--readme", str(readme)])
    assert not (tmp_path / "out").exists() and not (tmp_path / "images").exists()
    assert readme.read_text() == before


def test_photos_refuse_a_run_of_another_image_size(project, tmp_path):
    write_photos(tmp_path / "photos")
    argv = bad_setup(project, tmp_path, lambda f: edit_config(f, image_size=64))
    with pytest.raises(SystemExit, match="unet-seed-mse-s0: trained on 64x64"):
        evaluate.main(argv + ["--photos", str(tmp_path / "photos")])


def tree_digest(*paths):
    """{relative path: bytes} of every file under paths: what "unchanged" is checked against."""
    found = {}
    for path in paths:
        for file in sorted(p for p in [path, *path.rglob("*")] if p.is_file()):
            found[str(file)] = file.read_bytes()
    return found


def test_without_update_readme_the_readme_and_its_images_stay_byte_identical(
        project, tmp_path, monkeypatch):
    """Figures go under --out by default: evaluating an experiment from the repository's folder
    (here a copy of its layout, and the real repository too) leaves README.md and images/ alone."""
    layout = tmp_path / "repo"
    (layout / "images").mkdir(parents=True)
    (layout / "images" / "Figure_1.png").write_bytes(b"the README's figure")
    (layout / "images" / "Figure_9.png").write_bytes(b"one a smaller run would delete")
    write_readme(layout / "README.md")
    repository = Path(__file__).resolve().parent.parent
    before = tree_digest(layout, repository / "images", repository / "README.md")
    monkeypatch.chdir(layout)
    assert evaluate.main(["--data", str(project["data"]), "--runs", str(project["runs"]),
                          "--out", str(tmp_path / "out"), "--figures", "2",
                          "--bootstrap", "100"]) == 0
    assert tree_digest(layout, repository / "images", repository / "README.md") == before
    assert (tmp_path / "out" / "figures" / "Figure_2.png").is_file()
    assert (tmp_path / "out" / "figures" / "auc.png").is_file()


def test_update_readme_writes_the_figures_into_the_readmes_images(project, tmp_path):
    readme = tmp_path / "README.md"
    write_readme(readme)
    assert evaluate.main(["--data", str(project["data"]), "--runs", str(project["runs"]),
                          "--out", str(tmp_path / "out"), "--figures", "1", "--bootstrap", "100",
                          "--update-readme", "--readme", str(readme)]) == 0
    assert (tmp_path / "images" / "Figure_1.png").is_file()
    assert "![Figure 1](images/Figure_1.png)" in readme.read_text()
    assert "`out/summary.md` has every paired comparison" in readme.read_text()
    assert not (tmp_path / "out" / "figures").exists()


def test_discover_runs_ignores_config_files_inside_a_run(tmp_path):
    for folder in ("a-run", "a-run/backup", "b-run"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "config.json").write_text("{}")
    found = evaluate.discover_runs(tmp_path)
    assert [path.name for path in found] == ["a-run", "b-run"]


# --------------------------------------------------------------------------- mse vs classification


@pytest.fixture(scope="module")
def loss_pair(project, tmp_path_factory):
    """The same model trained with MSE and with the classification loss, evaluated together."""
    root = tmp_path_factory.mktemp("loss-pair")
    runs = root / "runs"
    write_run(runs, "unet-seed-mse-s0", project["meta"], project["data"])
    write_run(runs, "unet-seed-classification-s0", project["meta"], project["data"],
              loss="classification")
    write_run(runs, "resnet-seed-mse-s0", project["meta"], project["data"], "resnet", filters=3)
    assert evaluate.main(["--data", str(project["data"]), "--runs", str(runs), "--out",
                          str(root / "results"), "--images", str(root / "images"),
                          "--figures", "1", "--bootstrap", "200"]) == 0
    return root


def test_labels_name_the_loss_only_where_a_model_has_both():
    keys = [("unet", "seed", "mse"), ("unet", "seed", "classification"), ("resnet", "seed", "mse")]
    labels = evaluate.group_labels(keys)
    assert labels[keys[0]] == "U-Net (mse)" and labels[keys[1]] == "U-Net (classification)"
    assert labels[keys[2]] == "ResNet"


def test_mse_and_classification_versions_of_a_model_sit_side_by_side_in_the_table(loss_pair):
    lines = (loss_pair / "results" / "summary.md").read_text().splitlines()
    quality = lines.index("## Colorization metrics")
    rows = [line.split(" | ")[0].lstrip("| ") for line in lines[quality + 4:quality + 9]]
    assert rows[:3] == ["ResNet", "U-Net (classification)", "U-Net (mse)"]


def test_figures_show_both_versions_of_a_model(loss_pair):
    rows = read_csv(loss_pair / "results" / "metrics.csv")
    assert {row["group"] for row in rows if row["kind"] == "run"} == {
        "ResNet", "U-Net (classification)", "U-Net (mse)"}
    # five columns: input, ResNet, two U-Nets, original
    width, height = png_size(loss_pair / "images" / "Figure_1.png")
    assert height == round((figures.FIGURE_WIDTH_IN / 5 + 0.4) * figures.FIGURE_DPI)


def test_curves_give_cross_entropy_and_mse_separate_labelled_axes(loss_pair, tmp_path):
    runs = loss_pair / "runs"
    groups = {}
    for folder in evaluate.discover_runs(runs):
        config = evaluate.read_checked_config(folder)
        groups.setdefault(evaluate.group_key(config), []).append(
            {"folder": folder, "config": config})
    panels = figures.curves_figure(tmp_path / "curves.png", groups,
                                    evaluate.group_labels(list(groups)))
    by_title = dict(panels)
    assert len(panels) == 3
    assert "cross-entropy" in by_title["U-Net (classification)"]
    assert "MSE" in by_title["U-Net (mse)"] and "MSE" in by_title["ResNet (mse)"]
