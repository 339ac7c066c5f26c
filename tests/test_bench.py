"""bench.py runs against today's code: its figures are printed, never asserted, so a benchmark
that no longer matches the function it times breaks only when someone needs it."""

import re

import cpu  # noqa: F401  (before TensorFlow, as every entry point does)
import bench


def test_colorize_benchmark_times_both_photos_end_to_end_and_by_phase(capsys):
    assert bench.main(["colorize", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for kind in ("rgb", "gray"):
        seconds = re.search(rf"^{kind} 4000x3000 JPEG, end to end: median ([\d.]+) s", out,
                            flags=re.MULTILINE)
        assert seconds and float(seconds.group(1)) > 0
    phases = re.findall(r"phases \(median s\): (.*)", out)
    assert len(phases) == 2
    for line in phases:
        assert [part.split()[0] for part in line.split(", ")] == [
            "decode", "L", "predict", "upsample", "Lab->RGB", "encode", "sum"]
