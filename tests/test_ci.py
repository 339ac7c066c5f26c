""".ci/run, make setup and make clean, run for real: the fresh-machine script installs
python3-venv exactly when venv could not make an environment, make setup starts an install that
broke off over again and replaces a full TensorFlow left in .venv by its CPU-only build, and make
clean keeps the photos scrape.py saved."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINUX_X86 = sys.platform == "linux" and platform.machine() == "x86_64"  # where the CPU build is


def run_ci(tmp_path, ensurepip_missing):
    """.ci/run with apt-get and make replaced by recorders; the commands it ran, in order.

    Without ensurepip, python3 looks like a Debian python3 lacking python3-venv: `-m venv --help`
    still works (venv is in the standard library), `import ensurepip` (which venv needs to put
    pip in an environment) fails."""
    bin_dir, log = tmp_path / "bin", tmp_path / "commands.log"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    for tool in ("apt-get", "make"):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        (bin_dir / tool).chmod(0o755)
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    if ensurepip_missing:
        shadow = tmp_path / "shadow"
        shadow.mkdir()
        (shadow / "ensurepip.py").write_text("raise ImportError('ensurepip is in python3-venv')\n")
        environment["PYTHONPATH"] = str(shadow)
        check = subprocess.run(["python3", "-m", "venv", "--help"], env=environment,
                               capture_output=True)
        assert check.returncode == 0  # the old guard's test passes on such a machine
    subprocess.run([str(ROOT / ".ci" / "run")], env=environment, check=True,
                   capture_output=True, cwd=tmp_path)
    return log.read_text().splitlines()


def test_ci_installs_python3_venv_when_ensurepip_is_missing(tmp_path):
    commands = run_ci(tmp_path, ensurepip_missing=True)
    installs = [line for line in commands if line.startswith("apt-get") and "install" in line]
    assert len(installs) == 1 and "python3-venv" in installs[0].split()
    assert commands[-1] == "make test"


def test_ci_installs_nothing_when_venv_can_make_an_environment(tmp_path):
    assert run_ci(tmp_path, ensurepip_missing=False) == ["make test"]


def make_setup(tmp_path, failures, tries=3, installed=None):
    """`make setup` in tmp_path with a real venv and a pip that fails its first `failures`
    installs of the requirements, as when a download from PyPI breaks off: (exit status, output,
    the pip commands run). With `installed` (distribution names), the environment's python is a
    real one that sees those distributions and no others."""
    fake_bin, log = tmp_path / "fake-bin", tmp_path / "pip.log"
    fake_bin.mkdir()
    if installed is not None:
        site = tmp_path / "site"
        for name in installed:
            info = site / f"{name.replace('-', '_')}-2.21.0.dist-info"
            info.mkdir(parents=True)
            (info / "METADATA").write_text(
                f"Metadata-Version: 2.1\nName: {name}\nVersion: 2.21.0\n")
        (fake_bin / "python").write_text(  # -S: no site-packages, only `site`
            f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" -S "$@"\n')
        (fake_bin / "python").chmod(0o755)
    (fake_bin / "pip").write_text(
        f'#!/bin/sh\necho "$*" >> "{log}"\ncase "$*" in *requirements-dev.txt*) ;; *) exit 0;; esac\n'
        f'n=$(grep -c requirements-dev.txt "{log}")\n[ "$n" -gt {failures} ]\n')
    (fake_bin / "pip").chmod(0o755)
    for name in ("requirements.txt", "requirements-dev.txt"):
        (tmp_path / name).write_text("")
    done = subprocess.run(["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "setup",
                           f"PYTHON={sys.executable}", f"BIN={fake_bin}", f"PIP_TRIES={tries}",
                           "PIP_PAUSE=0"], cwd=tmp_path, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr, log.read_text().splitlines()


def test_setup_starts_a_broken_off_install_over(tmp_path):
    status, output, commands = make_setup(tmp_path, failures=2)
    installs = [line for line in commands if "requirements-dev.txt" in line]
    assert status == 0 and len(installs) == 3
    assert all("--resume-retries 20" in line for line in installs)
    assert [line in installs for line in commands] == [False, True] * 3  # pip upgraded each try
    assert "try 2 of 3" in output and (tmp_path / ".venv" / ".installed").is_file()


def test_setup_gives_up_after_its_tries_and_leaves_no_stamp(tmp_path):
    status, output, commands = make_setup(tmp_path, failures=5, tries=2)
    assert status != 0 and "try 2 of 2" in output
    assert sum("requirements-dev.txt" in line for line in commands) == 2
    assert not (tmp_path / ".venv" / ".installed").exists()  # the next make tries again


@pytest.mark.parametrize("installed", [["tensorflow"], ["tensorflow", "tensorflow-cpu"]])
def test_setup_replaces_a_full_tensorflow_with_the_cpu_build(tmp_path, installed):
    status, output, commands = make_setup(tmp_path, failures=0, installed=installed)
    uninstalls = [line for line in commands if line.startswith("uninstall")]
    assert status == 0
    if LINUX_X86:  # where requirements.txt asks for tensorflow-cpu
        assert uninstalls == ["uninstall --quiet --yes " + " ".join(installed)]
        assert commands.index(uninstalls[0]) < min(
            i for i, line in enumerate(commands) if "requirements-dev.txt" in line)
        assert "Replacing the full TensorFlow wheel" in output
    else:
        assert uninstalls == []


@pytest.mark.parametrize("installed", [[], ["tensorflow-cpu"]])
def test_setup_leaves_an_environment_without_the_full_tensorflow_alone(tmp_path, installed):
    status, output, commands = make_setup(tmp_path, failures=0, installed=installed)
    assert status == 0 and not any(line.startswith("uninstall") for line in commands)
    assert "Replacing" not in output


def make_clean(folder):
    return subprocess.run(["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "clean"],
                          cwd=folder, check=True, capture_output=True, text=True).stdout


def test_make_clean_keeps_scraped_photos_and_deletes_the_rest(tmp_path):
    made = ["data/mountains-synth/meta.json", "data/variants/landscapes-1000/meta.json",
            "data/mountains-model.args", f"data/.mountains.tmp-{os.getpid()}/staging.npy",
            "runs/model/model.keras", "runs/study/unet-seed-s0/config.json",
            "results/demo/summary.md", "colorized/photo.png"]
    scraped = ["data/raw/holiday.jpg", "data/raw/manifest.jsonl", "data/commons/manifest.jsonl",
               "data/commons/ab12.jpg"]
    for name in made + scraped:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    output = make_clean(tmp_path)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(scraped)
    assert "runs/model" in output and "data/raw" in output  # it says what goes and what stays


def test_make_clean_of_a_fresh_clone_does_nothing_and_succeeds(tmp_path):
    make_clean(tmp_path)
    assert list(tmp_path.iterdir()) == []
