"""photos/: the real-photo evaluation set is complete, credited, allowed, and never trained on."""

import re
from pathlib import Path

import pytest

import photos
import evaluate
import figures
from test_evaluate import write_run
from tools import attribution, variants

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "photos"
ALLOWED = {"CC-BY-SA-4.0", "CC-BY-SA-3.0", "CC-BY-4.0", "CC0-1.0", "Unsplash"}


def photo_files():
    return sorted(p.name for p in PHOTOS.iterdir() if p.suffix.lower() in photos.IMAGE_SUFFIXES)


def table_rows():
    """The rows of photos/ATTRIBUTION.md's table as {column: cell}."""
    lines = [line for line in (PHOTOS / "ATTRIBUTION.md").read_text().splitlines()
             if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip().strip("`") for cell in line.strip("|").split("|"))))
            for line in lines[1:]]


def test_every_photo_has_an_attribution_row_and_every_row_a_photo():
    assert len(photo_files()) == 20
    assert sorted(row["file"] for row in table_rows()) == photo_files()


def test_every_row_names_author_allowed_licence_its_url_and_source():
    for row in table_rows():
        assert row["author"], row
        assert row["licence"] in ALLOWED, row
        assert row["licence URL"] == attribution.LICENCES[row["licence"]]
        assert re.search(r"https://github\.com/\S+/blob/[0-9a-f]{40}/", row["source"]), row


def test_attribution_md_is_what_the_tool_makes_of_the_tsv():
    assert attribution.main(["--check"]) == 0


def test_a_licence_outside_the_allowed_list_is_refused():
    with pytest.raises(ValueError, match="no allowed licence"):
        attribution.licence_of("All rights reserved - Someone")


@pytest.mark.parametrize("tsv, message", [
    ("# labelled by eye\nfile\tlight\nsrc02_001.jpg\tsunset\n", "no column file, repository"),
    ("file\trepository\tpath\tcommit\tlicence\n", "names no photo"),
    ("file\trepository\tpath\tcommit\tlicence\na.jpg\tr/x\tp\n", "line 2 has fewer than 5"),
])
def test_a_tsv_that_is_no_provenance_record_is_refused_and_writes_nothing(tmp_path, tsv,
                                                                        message):
    """Another TSV at --tsv wrote an empty table over --out (a header alone), or ended in a
    KeyError or TypeError."""
    (tmp_path / "record.tsv").write_text(tsv)
    out = tmp_path / "ATTRIBUTION.md"
    with pytest.raises(SystemExit, match=message):
        attribution.main(["--tsv", str(tmp_path / "record.tsv"), "--out", str(out)])
    assert not out.exists()


@pytest.mark.parametrize("tsv, reason", [("missing.tsv", "No such file or directory"),
                                         (".", "Is a directory")])
def test_a_tsv_that_cannot_be_read_is_named_once_with_the_reason(tmp_path, tsv, reason):
    with pytest.raises(SystemExit) as exit_info:
        attribution.main(["--tsv", str(tmp_path / tsv), "--out", str(tmp_path / "a.md")])
    assert str(exit_info.value) == f"attribution.py: {tmp_path / tsv}: {reason}"
    assert not (tmp_path / "a.md").exists()


@pytest.mark.parametrize("out", ["folder", "file.md/ATTRIBUTION.md"])
def test_an_out_that_cannot_be_a_file_is_a_usage_error(tmp_path, capsys, out):
    """A folder at --out, or a file on its way, was an OSError traceback after the table was
    made (and --check called a folder out of date)."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.md").write_text("a file\n")
    for check in ([], ["--check"]):
        with pytest.raises(SystemExit) as exit_info:
            attribution.main(["--out", str(tmp_path / out), *check])
        assert exit_info.value.code == 2
        assert f"--out {tmp_path / out.split('/')[0]} is a f" in capsys.readouterr().err


def test_figures_of_real_photos_are_headed_with_their_credit():
    credits = evaluate.photo_credits(PHOTOS)
    assert credits["src05_001.jpg"] == "Andrew Ridley, CC-BY-SA-4.0"
    style = figures.real_photo_style(["src05_001.jpg"], credits)
    assert style.headings == ("Real photo 1: src05_001.jpg (Andrew Ridley, CC-BY-SA-4.0)",)
    assert style.prefix == "Photo" and style.original == "original photo"


def test_nothing_builds_a_training_set_from_photos():
    """photos/ is evaluation-only: no Makefile recipe or study step hands it to dataset.py."""
    for name in ("Makefile", "study.py"):
        text = (ROOT / name).read_text()
        assert not re.search(r"--images[ =]\S*photos", text), name


def test_make_realcheck_scores_photos_by_default():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PHOTOS \?= photos/?$", makefile, re.MULTILINE)
    assert re.search(r'evaluate\.py --photos "\$\(PHOTOS\)"', makefile)


def test_realcheck_on_photos_without_a_dataset_writes_the_table_with_the_gray_baseline(
        tmp_path, capsys):
    """A fresh clone has photos/ but no data/: evaluate.py --photos photos, as make realcheck
    runs it, still scores a tiny model beside the gray baseline."""
    meta = {"checksum": "f" * 64, "size": 32}
    write_run(tmp_path / "runs", "unet-seed-mse-s0", meta, tmp_path / "no-data")
    out = tmp_path / "realcheck"
    assert evaluate.main(["--photos", str(PHOTOS), "--runs", str(tmp_path / "runs"),
                          "--data", str(tmp_path / "no-data"), "--out", str(out),
                          "--figures", "2", "--bootstrap", "100"]) == 0
    summary = (out / "summary.md").read_text()
    assert "20 real photos from" in summary
    assert "| gray baseline (ab = 0) | - |" in summary
    assert "| U-Net - gray baseline | ab RMSE" in summary
    assert "train-mean" not in summary  # no dataset, no train split: gray alone
    assert sorted(p.name for p in (out / "figures").glob("Photo_*.png")) == [
        "Photo_1.png", "Photo_2.png"]


def test_light_labels_name_photos_of_the_set_with_a_known_light():
    lights = variants.read_lights(PHOTOS)
    assert lights and set(lights) <= set(photo_files())
    assert set(lights.values()) == {"sunset"}  # photos in other light are not listed
