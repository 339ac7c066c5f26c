"""tools/colour_stats.py: the detail per pixel, and how much of it a viewed network sees."""

import numpy as np
import pytest
from PIL import Image

import lab
from tools import colour_stats


def test_detail_is_the_mean_step_of_l_between_neighbouring_pixels():
    flat = np.full((2, 16, 16), 40.0)
    assert colour_stats.detail(flat) == 0.0
    ramp = np.broadcast_to(np.arange(16.0) * 2.0, (2, 16, 16))  # L rises by 2 to the right
    assert np.isclose(colour_stats.detail(ramp), 2.0)
    assert np.isclose(colour_stats.detail(ramp.transpose(0, 2, 1)), 2.0)  # and downward


def test_a_photo_seen_larger_carries_less_detail_per_pixel():
    noise = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 1), dtype=np.uint8)
    images = np.repeat(noise, 3, axis=-1)  # gray: L carries all of it
    lightness = lab.rgb_to_lab(images)[..., 0]
    native = colour_stats.detail(lightness)
    assert np.isclose(colour_stats.detail_seen_at(lightness, 1), native, rtol=1e-4)
    assert colour_stats.detail_seen_at(lightness, "5/4") < 0.8 * native
    assert colour_stats.detail_seen_at(lightness, 2) < colour_stats.detail_seen_at(lightness, "5/4")


def test_view_scales_report_each_folders_detail_as_the_network_sees_it(tmp_path, capsys):
    rng = np.random.default_rng(1)
    for index in range(2):
        pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"photo{index}.png")
    assert colour_stats.main([str(tmp_path), "--size", "32", "--view-scales", "1", "5/4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    seen = {line.split(" shown ")[1].split("x")[0]: float(line.rsplit(" ", 1)[1])
            for line in lines if " shown " in line}
    assert set(seen) == {"1", "5/4"} and seen["5/4"] < seen["1"]
    detail_row = next(line for line in lines if line.startswith("detail"))
    assert np.isclose(float(detail_row.split()[-1]), seen["1"], atol=0.01)


@pytest.mark.parametrize("missing", ["missing", "p.png"])
def test_a_folder_that_is_not_there_is_refused_before_any_folder_is_read(tmp_path, capsys,
                                                                         missing):
    """A missing second folder (or a photo given for a folder) was found only after the first
    folder had been read and measured."""
    Image.fromarray(np.full((40, 40, 3), (90, 120, 200), np.uint8)).save(tmp_path / "p.png")
    with pytest.raises(SystemExit) as exit_info:
        colour_stats.main([str(tmp_path), str(tmp_path / missing), "--size", "32"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert f"{tmp_path / missing}: no such folder of photos" in captured.err
    assert "decoding photos" not in captured.err and captured.out == ""


def test_a_view_scale_given_twice_is_a_usage_error(tmp_path, capsys):
    """Its line was printed twice, as ensemble.py refuses it."""
    with pytest.raises(SystemExit) as exit_info:
        colour_stats.main([str(tmp_path), "--view-scales", "5/4", "10/8"])
    assert exit_info.value.code == 2
    assert "--view-scales names the same scale twice" in capsys.readouterr().err


def test_view_scales_without_a_folder_are_a_usage_error(capsys):
    """They measure the folders' photos alone: with --synthetic alone they printed nothing."""
    with pytest.raises(SystemExit) as exit_info:
        colour_stats.main(["--synthetic", "2", "--size", "8", "--view-scales", "5/4"])
    assert exit_info.value.code == 2
    assert "--view-scales measures the folders' photos" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, message", [
    (["--synthetic", "2", "--size", "0"], "--size must be at least 4"),
    (["--synthetic", "2", "--size", "3"], "--size must be at least 4"),
    (["--synthetic", "2", "--seed", "-1"], "--seed must be 0 or positive"),
    (["FOLDER", "--size", "32", "--synthetic", "-2"], "--synthetic must be 0 or more"),
])
def test_sizes_seeds_and_counts_the_landscapes_cannot_take_are_usage_errors(arguments, message,
                                                                            tmp_path, capsys):
    """They were tracebacks from the renderer or numpy; a negative --synthetic beside a folder
    was silently taken as none."""
    Image.fromarray(np.full((40, 40, 3), (90, 120, 200), np.uint8)).save(tmp_path / "p.png")
    arguments = [str(tmp_path) if argument == "FOLDER" else argument for argument in arguments]
    with pytest.raises(SystemExit) as exit_info:
        colour_stats.main(arguments)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
