"""bench.py runs against today's code: its figures are printed, never asserted, so a benchmark
that no longer matches the function it times breaks only when someone needs it."""

import re

import pytest

import cpu  # noqa: F401  (before TensorFlow, as every entry point does)
import bench


def test_colorize_benchmark_times_both_photos_end_to_end_and_by_phase(capsys):
    # a 400x300 photo: the format is what is tested, and 12 megapixels take minutes here
    assert bench.main(["colorize", "--repeats", "1", "--photo-size", "400x300"]) == 0
    out = capsys.readouterr().out
    for kind in ("rgb", "gray"):
        seconds = re.search(rf"^{kind} 400x300 JPEG, end to end: median ([\d.]+) s", out,
                            flags=re.MULTILINE)
        assert seconds and float(seconds.group(1)) > 0
    phases = re.findall(r"phases \(median s\): (.*)", out)
    assert len(phases) == 2
    for line in phases:
        assert [part.split()[0] for part in line.split(", ")] == [
            "decode", "L", "predict", "upsample", "Lab->RGB", "encode", "sum"]
    call = re.search(r"network on its (\d+)x(\d+) working shape: eager median ([\d.]+) s, "
                     r"traced ([\d.]+) s", out)
    assert call and call.group(1, 2) == ("128", "192")  # 300 rows -> 128, 400 -> 171 -> 192
    assert float(call.group(3)) > 0 and float(call.group(4)) > 0


def test_the_colorize_benchmark_times_a_given_run_folder(tmp_path, capsys):
    import json

    import models

    models.build_model("unet", "seed", width=0.25).save(tmp_path / "model.keras")
    (tmp_path / "config.json").write_text(json.dumps({"image_size": 64, "stride": 32,
                                                      "status": "finished"}))
    assert bench.main(["colorize", "--repeats", "1", "--photo-size", "300x200",
                       "--colorize-model", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path / 'model.keras'}: render size 64, stride 32" in out
    assert "network on its 64x96 working shape" in out  # 200 rows -> 64, 300 -> 96


def test_the_colorize_photo_is_4000x3000_unless_sized():
    assert bench.parse_args(["colorize"]).photo_size == (4000, 3000)
    assert bench.parse_args(["colorize", "--photo-size", "640X480"]).photo_size == (640, 480)


@pytest.mark.parametrize("size", ["400", "0x300", "400x-3", "wide x tall"])
def test_a_malformed_photo_size_is_a_usage_error(size):
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["colorize", "--photo-size", size])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("option", ["--repeats", "--rounds"])
def test_zero_repeats_or_rounds_are_a_usage_error(option):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["train", option, "0"])
    assert exit_info.value.code == 2


def test_forced_bfloat16_is_measured_against_the_bfloat16_ceiling_where_auto_picks_float32(
        monkeypatch):
    """With oneDNN off, --precision auto trains in float32 (emulated bfloat16 is slow), yet
    --precision bfloat16 still trains in mixed_bfloat16: its share needs that policy's ceiling."""
    import tensorflow  # noqa: F401  (loaded with oneDNN on, as cpu.py sets it: fast bfloat16)

    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # what training.resolve_precision reads
    figures = bench.bench_train(1, ["seed"], "bfloat16", ["--batch-size", "2"])
    assert {row["policy"] for row in figures["training"]} == {"mixed_bfloat16"}
    assert figures["ceilings"]["mixed_bfloat16"] > 0
    assert all(row["share"] > 0 for row in figures["training"])


def test_an_unknown_benchmark_is_a_usage_error_that_lists_the_benchmarks(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["train", "bogus"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "'bogus'" in error and ", ".join(bench.BENCHMARKS) in error and "[]" not in error
    assert bench.parse_args([]).what == []


def test_a_failing_lever_shows_the_childs_error(capsys):
    with pytest.raises(SystemExit, match="lever 'float32' failed"):
        bench.run_lever("float32", ["no-such-preset"], 1)
    assert "invalid choice: 'no-such-preset'" in capsys.readouterr().err
