"""files.py: every write is whole or not at all."""

import json
import os

import pytest

import files


def test_atomic_write_replaces_the_file_when_the_block_finishes(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with files.atomic_write(path) as f:
        f.write("new")
    assert path.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_write_keeps_the_old_file_when_the_block_fails(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_write(path) as f:
            f.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_write_refuses_append_mode(tmp_path):
    with pytest.raises(ValueError, match="whole files"):
        with files.atomic_write(tmp_path / "a.txt", "a"):
            pass


def test_write_json_atomic_creates_missing_folders(tmp_path):
    path = tmp_path / "deep" / "er" / "config.json"
    files.write_json_atomic(path, {"b": 1, "a": [2]})
    assert json.loads(path.read_text()) == {"a": [2], "b": 1}


def test_replace_dir_swaps_in_the_new_folder(tmp_path):
    dest, new = tmp_path / "data", tmp_path / "incoming"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    files.replace_dir(new, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["new.txt"]
    assert not new.exists()


def test_remove_leftovers_deletes_dead_runs_temporaries_and_restores_a_lost_folder(tmp_path):
    out = tmp_path / "data"
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    (tmp_path / f".data.tmp-{dead}").mkdir()
    (tmp_path / f".data.old-{dead}").mkdir()
    (tmp_path / f".data.old-{dead}" / "meta.json").write_text("{}")
    alive = tmp_path / f".data.tmp-{os.getpid()}"
    alive.mkdir()
    files.remove_leftovers(out)
    assert (out / "meta.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name, "data"]


def test_atomic_path_with_a_suffix_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_path(target, suffix=".keras") as tmp:
            assert tmp.name.endswith(".keras") and tmp.parent == tmp_path
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_remove_leftovers_deletes_a_dead_runs_suffixed_temporary(tmp_path):
    dead = 2 ** 22 + 12345
    (tmp_path / "model.keras").write_text("kept")
    (tmp_path / f".model.keras.tmp-{dead}.keras").write_text("half")
    files.remove_leftovers(tmp_path / "model.keras")
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_atomic_dir_swaps_in_the_built_folder_or_keeps_the_old_one(tmp_path):
    out = tmp_path / "ensemble"
    out.mkdir()
    (out / "model.keras").write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_dir(out) as tmp:
            (tmp / "model.keras").write_text("new")
            raise RuntimeError("killed before config.json")
    assert [p.name for p in tmp_path.iterdir()] == ["ensemble"]
    assert (out / "model.keras").read_text() == "old"
    with files.atomic_dir(out) as tmp:
        assert list(tmp.iterdir()) == [] and tmp.parent == tmp_path
        (tmp / "model.keras").write_text("new")
        (tmp / "config.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.keras"]
    assert (out / "model.keras").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["ensemble"]


def test_atomic_dir_through_a_symlink_rebuilds_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "disk" / "dataset"
    target.mkdir(parents=True)
    (target / "old.txt").write_text("old")
    link = tmp_path / "dataset"
    link.symlink_to(target)
    with files.atomic_dir(link) as tmp:
        assert tmp.parent == target.parent
        (tmp / "new.txt").write_text("new")
    assert link.is_symlink() and link.resolve() == target
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "disk"]
    assert [p.name for p in target.parent.iterdir()] == ["dataset"]


def test_not_a_folder_names_the_file_in_the_way_of_a_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert files.not_a_folder("--out", tmp_path / "new" / "deeper", "a folder") is None
    assert files.not_a_folder("--out", tmp_path, "a folder") is None
    assert (files.not_a_folder("--out", tmp_path / "notes.txt", "a folder of runs")
            == f"--out {tmp_path / 'notes.txt'} is a file, not a folder of runs")
    assert (files.not_a_folder("--runs", tmp_path / "notes.txt" / "a" / "b", "a folder")
            == f"--runs {tmp_path / 'notes.txt' / 'a' / 'b'} cannot be a folder: "
               f"{tmp_path / 'notes.txt'} is a file")
