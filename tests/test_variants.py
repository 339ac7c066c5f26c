"""tools/variants.py: every recipe it lists is a valid train.py / dataset.py call, and its table
reads evaluate.py's per-image scores into the right gains, intervals and ratios."""

import csv
import fractions
import json
import re
from pathlib import Path

import numpy as np
import pytest

import cpu
import mountains
import train
from tools import variants

FIELDS = ["name", "kind", "image_index", "image_id", "seed_loss", "seed_accuracy", "ab_rmse",
          "auc", "psnr", "ssim", "colorfulness", "colorfulness_original", "colorfulness_diff"]


def write_per_image(path, rows, names=None):
    """rows: (name, kind, auc, ab_rmse, colorfulness, colorfulness_original) per image, each
    run's rows in the order of the photos `names` (10 photos p0.jpg .. p9.jpg by default)."""
    names = names or [f"p{index}.jpg" for index in range(10)]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS, restval="0")
        writer.writeheader()
        for index, (name, kind, auc, rmse, colour, original) in enumerate(rows):
            writer.writerow({"name": name, "kind": kind, "image_index": index % len(names),
                             "image_id": names[index % len(names)], "auc": auc,
                             "ab_rmse": rmse, "colorfulness": colour,
                             "colorfulness_original": original})


@pytest.mark.parametrize("name", sorted(variants.VARIANTS))
def test_every_variant_is_a_valid_training_command(name):
    variant = variants.VARIANTS[name]
    for recipe in variant.recipes:
        config = train.parse_args([*recipe, "--data", str(variant.data)])
        assert config.model in ("autoencoder", "resnet", "unet")
    assert variant.images >= 10 and variant.zoom >= 1 and variant.fine >= 1
    assert all(0 <= variant.rendering[share] <= 1 for share in mountains.SHARES)
    assert variant.members > 1 or not variant.also  # other families only inside an average


def test_ensembles_share_a_member_exactly_when_it_is_the_same_network():
    mixed, unets = variants.VARIANTS["ensemble-mixed"], variants.VARIANTS["ensemble"]
    autoencoders = variants.VARIANTS["ensemble-autoencoder"]
    assert variants.member_folder(mixed, mixed.recipes[0], 2) == \
        variants.member_folder(unets, unets.train, 2)
    assert variants.member_folder(mixed, mixed.recipes[1], 2) == \
        variants.member_folder(autoencoders, autoencoders.train, 2)
    assert variants.member_folder(unets, unets.train, 2) != \
        variants.member_folder(unets, unets.train, 3)
    study = variants.VARIANTS["ensemble-2500"]  # other landscapes, other network
    assert variants.member_folder(study, unets.train, 2) != \
        variants.member_folder(unets, unets.train, 2)


def test_an_ensemble_seed_averages_networks_no_other_seed_of_its_variant_averages():
    even, uneven = (variants.VARIANTS[name] for name in ("ensemble-mixed-twilight-views",
                                                          "ensemble-2-1-twilight-views"))
    distance, classification = even.recipes
    assert even.networks(2) == [(distance, 4), (distance, 5), (distance, 6),
                                (classification, 4), (classification, 5), (classification, 6)]
    assert uneven.networks(2) == [(distance, 3), (distance, 4), (classification, 2)]
    for variant in (even, uneven):
        seen = [network for seed in (1, 2, 3) for network in variant.networks(seed)]
        assert len(seen) == len(set(seen)) == 3 * len(variant.networks(1))


def test_networks_of_an_own_data_variant_each_train_on_landscapes_of_their_own():
    own = variants.VARIANTS["ensemble-own-data-distance"]
    shared = variants.VARIANTS["ensemble-study-view-lr2-cosine-distance"]
    assert own.data == shared.data  # same rendering options...
    datasets = {own.data_of(seed) for seed in range(1, 10)}
    assert len(datasets) == 9 and shared.data not in datasets  # ...other landscapes per network
    assert {shared.data_of(seed) for seed in range(1, 10)} == {shared.data}
    assert variants.member_folder(own, own.train, 2) != variants.member_folder(shared,
                                                                               shared.train, 2)
    assert variants.member_folder(own, own.train, 2).parent.name == own.data_of(2).name


def test_variants_share_a_dataset_exactly_when_they_render_the_same_one():
    by_data = {}
    for variant in variants.VARIANTS.values():
        by_data.setdefault(variant.data, set()).add((variant.images,
                                                     tuple(variant.rendering.items())))
    assert all(len(kinds) == 1 for kinds in by_data.values())


def test_summary_gives_the_gain_over_gray_its_interval_and_the_ratios(tmp_path):
    rng = np.random.default_rng(0)
    gray_auc = rng.uniform(0.85, 0.95, 10)
    rows = [("baseline-gray", "baseline", a, 10.0, 0.0, 40.0) for a in gray_auc]
    for seed, offset in ((1, 0.010), (2, 0.020)):  # two seeds, 1 and 2 points better everywhere
        rows += [(f"unet-seed-mse-s{seed}", "run", a + offset, 8.0, 20.0, 40.0) for a in gray_auc]
    write_per_image(tmp_path / "per_image.csv", rows)
    summary = variants.summarize_variant(tmp_path / "per_image.csv")
    assert summary["seeds"] == 2 and summary["photos"] == 10
    assert summary["auc_gain"] == pytest.approx(1.5)
    assert summary["low"] == pytest.approx(1.5) and summary["high"] == pytest.approx(1.5)
    assert summary["auc_gain_std"] == pytest.approx(np.std([1.0, 2.0], ddof=1))
    assert summary["rmse_ratio"] == pytest.approx(0.8)
    assert summary["colorfulness_ratio"] == pytest.approx(0.5)


def test_a_noisy_gain_gets_an_interval_that_spans_zero(tmp_path):
    rng = np.random.default_rng(1)
    gray_auc = rng.uniform(0.85, 0.95, 10)
    noise = np.array([3, -3, 2, -2, 1, -1, 3, -3, 2, -2]) / 100
    rows = [("baseline-gray", "baseline", a, 10.0, 0.0, 40.0) for a in gray_auc]
    rows += [("unet-seed-mse-s1", "run", a + n, 10.0, 10.0, 40.0) for a, n in zip(gray_auc, noise)]
    write_per_image(tmp_path / "per_image.csv", rows)
    summary = variants.summarize_variant(tmp_path / "per_image.csv")
    assert summary["low"] < 0 < summary["high"]
    summary["measured_on"] = "a CPU"
    line = variants.table([("noisy", variants.VARIANTS["base"], summary)]).splitlines()[-1]
    assert line.startswith("| noisy | ") and "| a CPU | 1 | +0.00 |" in line


def summary_row(name, gain, cpu_kind):
    summary = {"seeds": 3, "auc_gain": gain, "auc_gain_std": 0.1, "low": gain - 1,
               "high": gain + 1, "versus": None, "rmse_ratio": 0.9, "colorfulness_ratio": 0.6,
               "measured_on": cpu_kind}
    return name, variants.VARIANTS[name], summary


def test_the_readme_table_replaces_only_the_rows_scored_on_this_kind_of_cpu():
    old = variants.table([summary_row("ensemble", 1.0, "Xeon"), summary_row("base", 0.5, "Xeon"),
                          summary_row("zoom", 0.2, "Xeon")])
    readme = f"intro\n{variants.README_START}\n\n{old}\n\n{variants.README_END}\nend\n"
    merged = variants.merged_table(readme, [summary_row("base", 0.7, "EPYC"),
                                            summary_row("ensemble", 1.3, "Xeon")])
    rows = [line for line in merged.splitlines()[2:]]
    assert [variants.row_key(line) for line in rows] == [
        ("base", "Xeon"), ("base", "EPYC"), ("zoom", "Xeon"), ("ensemble", "Xeon")]
    assert "+0.50" in rows[0] and "+0.70" in rows[1] and "+1.30" in rows[3]
    assert merged.splitlines()[:2] == variants.HEADER.splitlines()


def test_grid_figure_is_a_960_px_png_showing_each_row(tmp_path):
    from PIL import Image

    import figures

    red, blue = np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)
    red[..., 0], blue[..., 2] = 220, 220
    figures.grid_figure(tmp_path / "grid.png", [("reds", [red] * 3), ("blues", [blue] * 3)],
                        heading="test")
    with Image.open(tmp_path / "grid.png") as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    assert pixels.shape[1] == figures.FIGURE_WIDTH_IN * figures.FIGURE_DPI
    top, bottom = pixels[: len(pixels) // 2], pixels[len(pixels) // 2:]
    assert np.sum((top[..., 0] > 200) & (top[..., 2] < 50)) > 3 * 200  # the red row above
    assert np.sum((bottom[..., 2] > 200) & (bottom[..., 0] < 50)) > 3 * 200  # the blue below
    assert np.sum((top[..., 2] > 200) & (top[..., 0] < 50)) == 0


def makefile_model_settings(light=None):
    """The Makefile's MODEL_* defaults, or with `light` those its MODEL_LIGHT block sets first."""
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    before, rest = makefile.split("ifeq ($(MODEL_LIGHT),sunset)\n")
    block, after = rest.split("\nendif\n", 1)

    def settings(text):
        return dict(re.findall(r"^(MODEL_[A-Z_]+) \?=[ \t]*(.*)$", text, flags=re.MULTILINE))

    defaults = settings(before + after)
    return {**defaults, **settings(block.split("\nelse")[0])} if light == "sunset" else defaults


@pytest.mark.parametrize("light, name", [(None, variants.RECOMMENDED),
                                         ("sunset", variants.SUNSET_LIGHT)])
def test_make_model_trains_the_recommended_variant(light, name):
    settings = makefile_model_settings(light)
    recommended = variants.VARIANTS[name]
    assert int(settings["MODEL_IMAGES"]) == recommended.images
    for option, share in recommended.rendering.items():
        assert float(settings[f"MODEL_{option.upper()}"]) == share
    assert tuple(settings["MODEL_TRAIN"].split()) == recommended.train
    assert int(settings["MODEL_MEMBERS"]) == recommended.members
    assert settings["MODEL_CALIBRATE"] == str(int(recommended.calibrate))
    assert int(settings["MODEL_CHROMA_BANDS"]) == recommended.chroma_bands
    assert int(settings["MODEL_AGREED_OCTAVES"]) == recommended.agreed_octaves
    assert int(settings["MODEL_GUIDED_RADIUS"]) == recommended.guided_radius
    assert list(map(fractions.Fraction, settings["MODEL_VIEW"].split())) == list(
        map(fractions.Fraction, recommended.view.split()))
    assert [tuple(recipe.split()) for recipe in [settings["MODEL_ALSO"]] if recipe] == list(
        recommended.also)


def test_gain_over_the_reference_variant_is_paired_photo_by_photo(tmp_path):
    gray_auc = np.random.default_rng(2).uniform(0.85, 0.95, 10)
    gray = [("baseline-gray", "baseline", a, 10.0, 0.0, 40.0) for a in gray_auc]
    write_per_image(tmp_path / "base.csv",
                    gray + [("unet-seed-mse-s1", "run", a + 0.005, 9.0, 10.0, 40.0) for a in gray_auc])
    write_per_image(tmp_path / "better.csv",
                    gray + [("ensemble-s1", "run", a + 0.015, 8.0, 10.0, 40.0) for a in gray_auc])
    summary = variants.summarize_variant(tmp_path / "better.csv", tmp_path / "base.csv")
    assert summary["versus"] == pytest.approx((1.0, 1.0, 1.0))
    write_per_image(tmp_path / "other.csv", [(n, k, a + 0.01, r, c, o) for n, k, a, r, c, o in gray]
                    + [("s1", "run", a, 9.0, 10.0, 40.0) for a in gray_auc])
    with pytest.raises(SystemExit, match="other photos"):
        variants.summarize_variant(tmp_path / "better.csv", tmp_path / "other.csv")


def test_the_before_after_figure_shows_photos_at_the_size_the_networks_saw(tmp_path):
    from PIL import Image

    from helpers import make_member

    for name in (variants.BEFORE, variants.RECOMMENDED):  # networks that accept only 48x48
        make_member(tmp_path / "runs" / name / "s1", seed=1, image_size=48, input_size=48)
        # a first seed still training is passed over: its model is only the best so far
        make_member(tmp_path / "runs" / name / "s0", seed=0, image_size=32, status="running")
    assert variants.first_run(variants.BEFORE, tmp_path / "runs").name == "s1"
    out = tmp_path / "before-after.png"
    variants.before_after_figure(out, variants.HERE / "photos", variants.BEFORE,
                                 variants.RECOMMENDED, root=tmp_path / "runs")
    with Image.open(out) as figure:
        assert figure.format == "PNG" and figure.width > 6 * 48 and figure.height > 4 * 48
        six_wide = figure.size
    shown = variants.before_after_figure(out, variants.HERE / "photos", variants.BEFORE,
                                         variants.RECOMMENDED, root=tmp_path / "runs",
                                         only={"src09_002.jpg", "src07_006.jpg"})
    assert shown == ["src07_006.jpg", "src09_002.jpg"]  # in file-name order
    with Image.open(out) as figure:  # two photos: each column wider, so the rows taller
        assert figure.width == six_wide[0] and figure.height > six_wide[1]


def test_variants_are_scored_in_table_order_whatever_order_only_names_them(tmp_path,
                                                                           monkeypatch):
    scored = []
    monkeypatch.setattr(variants, "RUNS", tmp_path / "runs")  # no runs: nothing is scored
    monkeypatch.setattr(variants, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(variants, "train_seeds", lambda name, *rest: scored.append(name))
    with pytest.raises(SystemExit, match="no runs of base, zoom in .*nothing to score"):
        variants.main(["--only", "zoom", "base"])
    assert scored == ["base", "zoom"]  # base first: the others are paired with it


def test_no_train_without_runs_is_an_exit_that_leaves_the_table_alone(tmp_path, monkeypatch):
    """It wrote a table of its header alone over results/variants/table.md and exited 0."""
    monkeypatch.setattr(variants, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(variants, "RESULTS", tmp_path / "results")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.md").write_text("the last table\n")
    with pytest.raises(SystemExit, match="leave out --no-train"):
        variants.main(["--only", "base", "--no-train"])
    assert (tmp_path / "results" / "table.md").read_text() == "the last table\n"


@pytest.mark.parametrize("readme", [None, "no markers here\n"])
def test_update_readme_refuses_a_readme_it_cannot_rewrite_before_training(tmp_path, monkeypatch,
                                                                          readme):
    trained, photos = [], variants.HERE / "photos"
    monkeypatch.setattr(variants, "HERE", tmp_path)
    monkeypatch.setattr(variants, "train_seeds", lambda name, *rest: trained.append(name))
    if readme is not None:
        (tmp_path / "README.md").write_text(readme)
    with pytest.raises(SystemExit, match="README.md: (no such README|needs the markers)"):
        variants.main(["--only", "base", "--update-readme", "--photos", str(photos)])
    assert trained == []


@pytest.mark.parametrize("photos", ["missing", "empty", "photo.jpg"])
def test_photos_that_cannot_be_scored_are_refused_before_training(tmp_path, monkeypatch, capsys,
                                                                  photos):
    """A missing, empty or file --photos was found by evaluate.py only after every variant had
    trained (with --no-train, it was never found)."""
    trained = []
    monkeypatch.setattr(variants, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(variants, "train_seeds", lambda name, *rest: trained.append(name))
    (tmp_path / "empty").mkdir()
    (tmp_path / "photo.jpg").write_bytes(b"not a folder")
    with pytest.raises(SystemExit) as exit_info:
        variants.main(["--only", "base", "--photos", str(tmp_path / photos)])
    assert exit_info.value.code == 2
    assert f"--photos {tmp_path / photos}: no " in capsys.readouterr().err
    assert trained == [] and not (tmp_path / "results").exists()


@pytest.mark.parametrize("arguments", [["--only", "zoom"], ["--no-train"]])
def test_update_readme_refuses_a_figure_run_it_will_not_train_before_any_work(tmp_path,
                                                                           monkeypatch,
                                                                           arguments):
    """The figure's runs (base's and make model's) were looked for after every variant had
    trained and been scored, and after table.md and the README's table were written."""
    trained, photos = [], variants.HERE / "photos"
    monkeypatch.setattr(variants, "HERE", tmp_path)
    monkeypatch.setattr(variants, "train_seeds", lambda name, *rest: trained.append(name))
    readme = f"{variants.README_START}\n{variants.README_END}\n"
    (tmp_path / "README.md").write_text(readme)
    with pytest.raises(SystemExit, match="base has no finished run to draw"):
        variants.main([*arguments, "--update-readme", "--photos", str(photos)])
    assert trained == [] and not (tmp_path / variants.RESULTS).exists()
    assert (tmp_path / "README.md").read_text() == readme


def test_a_failing_evaluation_is_a_clear_exit_not_a_traceback(tmp_path):
    with pytest.raises(SystemExit, match="scoring no-such-variant failed"):
        variants.score("no-such-variant", tmp_path)


def test_a_row_names_the_cpu_its_networks_trained_on(tmp_path):
    from helpers import make_member

    for seed in (1, 2):
        make_member(tmp_path / "v" / f"s{seed}", seed=seed)
    assert variants.trained_on(tmp_path / "v") == cpu.kind()  # recorded before cpu_kind was
    for seed, kind in ((1, "Zen 5, AVX-512 BF16"), (2, "Zen 5, AVX-512 BF16")):
        config = json.loads((tmp_path / "v" / f"s{seed}" / "config.json").read_text())
        (tmp_path / "v" / f"s{seed}" / "config.json").write_text(
            json.dumps({**config, "cpu_kind": kind}))
    assert variants.trained_on(tmp_path / "v") == "Zen 5, AVX-512 BF16"


def test_the_table_by_light_scores_each_group_of_photos_apart(tmp_path, monkeypatch):
    """make model-sunset is paired with make model on the photos labelled sunset and on the
    others, each group summarized on its own photos."""
    gray_auc = np.random.default_rng(3).uniform(0.85, 0.95, 10)  # photos p0.jpg .. p9.jpg
    sunset = {"p1.jpg", "p4.jpg", "p7.jpg"}
    warm = np.array([0.02 if f"p{i}.jpg" in sunset else -0.01 for i in range(10)])
    gray = [("baseline-gray", "baseline", a, 10.0, 0.0, 40.0) for a in gray_auc]
    (tmp_path / "results" / variants.RECOMMENDED).mkdir(parents=True)
    (tmp_path / "results" / variants.SUNSET_LIGHT).mkdir(parents=True)
    write_per_image(tmp_path / "results" / variants.RECOMMENDED / "per_image.csv",
                    gray + [("ensemble-s1", "run", a + 0.01, 9.0, 10.0, 40.0) for a in gray_auc])
    write_per_image(tmp_path / "results" / variants.SUNSET_LIGHT / "per_image.csv",
                    gray + [("ensemble-s1", "run", a + 0.01 + w, 9.0, 10.0, 40.0)
                            for a, w in zip(gray_auc, warm)])
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / variants.LIGHTS).write_text(
        "# labelled by eye\nfile\tlight\n" + "".join(f"{name}\tsunset\n" for name in sunset))
    monkeypatch.setattr(variants, "HERE", tmp_path)
    monkeypatch.setattr(variants, "RESULTS", Path("results"))
    photos = tmp_path / "photos"
    rows = variants.light_rows(photos, variants.sunset_photos(photos))
    assert [(group.split(" (")[0], name) for group, _, name, _ in rows] == [
        ("taken in low, warm light", variants.RECOMMENDED),
        ("taken in low, warm light", variants.SUNSET_LIGHT),
        ("the others", variants.RECOMMENDED), ("the others", variants.SUNSET_LIGHT)]
    sunset_model, sunset_hint, other_model, other_hint = (row[3] for row in rows)
    assert (sunset_hint["photos"], other_hint["photos"]) == (3, 7)
    assert sunset_hint["versus"] == pytest.approx((2.0, 2.0, 2.0))
    assert other_hint["versus"] == pytest.approx((-1.0, -1.0, -1.0))
    assert sunset_model["auc_gain"] == pytest.approx(1.0) and sunset_model["versus"] is None
    lines = variants.light_table(rows).splitlines()
    assert lines[:2] == variants.LIGHT_HEADER.splitlines() and len(lines) == 6
    assert lines[3].startswith("| taken in low, warm light (3, labelled sunset in "
                               "photos/light.tsv) | make model-sunset (sunset-light) |")
    assert "| +3.00 | [+3.00, +3.00] | +2.00 [+2.00, +2.00] |" in lines[3]
    assert lines[4].startswith("| the others (7) | make model (")


def test_photos_without_light_labels_are_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="light.tsv"):
        variants.read_lights(tmp_path)


def test_the_readme_gets_the_table_by_light_and_its_figure(tmp_path, monkeypatch):
    from helpers import make_member

    photos_dir = variants.HERE / "photos"  # the real photos and their light.tsv
    names = sorted(path.name for path in photos_dir.glob("*.jpg"))
    gray = [("baseline-gray", "baseline", 0.9, 10.0, 0.0, 40.0)] * len(names)
    for name, offset in ((variants.RECOMMENDED, 0.02), (variants.SUNSET_LIGHT, 0.01)):
        (tmp_path / "results" / name).mkdir(parents=True)
        write_per_image(tmp_path / "results" / name / "per_image.csv", gray + [
            ("ensemble-s1", "run", 0.9 + offset, 9.0, 10.0, 40.0)] * len(names), names)
        make_member(tmp_path / "runs" / name / "ensemble-s1", seed=1, image_size=48,
                    input_size=48)
    monkeypatch.setattr(variants, "HERE", tmp_path)
    monkeypatch.setattr(variants, "RESULTS", Path("results"))
    monkeypatch.setattr(variants, "RUNS", Path("runs"))
    (tmp_path / "images").mkdir()
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{variants.LIGHT_START}\nold\n{variants.LIGHT_END}\nend\n")
    variants.update_light_block(readme, photos_dir)
    text = readme.read_text()
    sunset = len(variants.sunset_photos(photos_dir))
    assert "old" not in text and text.startswith("intro\n") and text.endswith("end\n")
    assert f"| taken in low, warm light ({sunset}, labelled sunset in photos/light.tsv) | " \
           f"make model-sunset ({variants.SUNSET_LIGHT}) |" in text
    assert f"| the others ({len(names) - sunset}) |" in text
    assert "| -1.00 [-1.00, -1.00] |" in text  # make model-sunset paired with make model
    assert (tmp_path / variants.LIGHT_FIGURE).is_file()


@pytest.mark.parametrize("name, hint", [("basee", "did you mean base?"),
                                        ("nosuch", "no variant 'nosuch' (--help")])
def test_an_unknown_variant_is_named_with_the_nearest_ones(capsys, name, hint):
    """argparse's choices answered a misspelt --only with all of the table's hundred-odd names
    in one line."""
    with pytest.raises(SystemExit) as exit_info:
        variants.parse_args(["--only", "base", name])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_info.value.code == 2
    assert hint in error and len(error) < 200


def test_whole_frames_and_other_photos_are_scored_beside_the_readmes_scores(tmp_path, monkeypatch,
                                                                            capsys):
    """--photos DIR wrote its scores over photos/' in results/variants (table.md too), which the
    README's tables are drawn from; whole frames could not be scored at all."""
    from helpers import make_member

    monkeypatch.setattr(variants, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(variants, "RESULTS", tmp_path / "results")
    for seed in (1, 2):
        make_member(tmp_path / "runs" / "base" / f"s{seed}", seed=seed)
    assert variants.main(["--only", "base", "--no-train", "--whole-frames"]) == 0
    scored = tmp_path / "results-whole-frames"
    assert "whole (shorter side 32 px)" in (scored / "base" / "summary.md").read_text()
    with open(scored / "base" / "per_image.csv", newline="") as f:
        assert {Path(row["image_id"]).name for row in csv.DictReader(f)} == {
            path.name for path in (variants.PHOTOS).iterdir() if path.suffix == ".jpg"}
    assert "| base |" in (scored / "table.md").read_text()
    assert not (tmp_path / "results").exists()
    held_out = tmp_path / "held-out"
    held_out.mkdir()
    assert variants.results_folder(held_out, False) == tmp_path / "results-held-out"
    assert variants.results_folder(held_out, True) == tmp_path / "results-held-out-whole-frames"
    assert variants.results_folder(variants.PHOTOS, False) == tmp_path / "results"
    with pytest.raises(SystemExit) as exit_info:
        variants.parse_args(["--whole-frames", "--update-readme"])
    assert exit_info.value.code == 2 and "centre squares" in capsys.readouterr().err
