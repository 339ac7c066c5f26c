"""tools/ensure-chromium.sh, which make test runs first: with the packages there it installs
nothing, and it says why it stops when the browser and its driver cannot work together. The
commands it finds on PATH are small scripts here, so that a broken or mismatched Chromium can
be had without one."""

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "ensure-chromium.sh"


def command(folder, name, body):
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def ensure(tmp_path, chromium, chromedriver):
    """Run the script with PATH holding these two commands, openssl, and the shell's tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command(bin_dir, "chromium", chromium)
    command(bin_dir, "chromedriver", chromedriver)
    for tool in ("openssl", "bash", "grep", "head", "cut", "id", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return subprocess.run(["bash", str(SCRIPT)], env={"PATH": str(bin_dir)},
                          capture_output=True, text=True)


def test_matching_versions_pass_and_install_nothing(tmp_path):
    result = ensure(tmp_path, "echo Chromium 142.0.7444.175 built on Debian",
                    "echo 'ChromeDriver 142.0.7444.175 (abc)'")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_driver_of_another_major_version_is_refused_naming_both(tmp_path):
    result = ensure(tmp_path, "echo Chromium 142.0.7444.175", "echo ChromeDriver 141.0.1.2")
    assert result.returncode == 1
    assert "chromium 142 and chromedriver 141 differ" in result.stderr


@pytest.mark.parametrize("broken", ["chromium", "chromedriver"])
def test_a_command_that_gives_no_version_is_named_not_a_silent_exit(tmp_path, broken):
    versions = {"chromium": "echo Chromium 142.0.7444.175",
                "chromedriver": "echo ChromeDriver 142.0.7444.175"}
    versions[broken] = "echo 'error while loading shared libraries' >&2; exit 127"
    result = ensure(tmp_path, versions["chromium"], versions["chromedriver"])
    assert result.returncode == 1
    assert f"{broken} --version gives no version number" in result.stderr
