"""Every script's --help shows each real default once, as typed, and no empty ones; cli.py's
argument types accept what they say and refuse the rest."""

import argparse
import importlib
import re

import pytest

import cpu  # noqa: F401  (before TensorFlow, as every entry point does)
import cli

SCRIPTS = ["bench", "colorize", "dataset", "ensemble", "evaluate", "models", "mountains", "scrape",
           "study", "train", "tools.attribution", "tools.colour_stats", "tools.sky_probe",
           "tools.variants"]


def help_text(module_name, capsys):
    module = importlib.import_module(module_name)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("module_name", SCRIPTS)
def test_help_shows_no_empty_or_repeated_default(module_name, capsys):
    text = " ".join(help_text(module_name, capsys).split())  # argparse wraps lines anywhere
    assert "(default: None)" not in text
    assert "(default: [])" not in text
    assert "Fraction(" not in text and "PosixPath(" not in text  # a repr, not what a user types
    options = re.split(r" (?=--?[a-z])", text)
    assert not [option for option in options if option.count("(default") > 1]


def test_help_still_shows_real_defaults(capsys):
    text = " ".join(help_text("train", capsys).split())
    assert re.search(r"--epochs EPOCHS .*?\(default: \d+\)", text)


@pytest.mark.parametrize("text, value", [("0", 0.0), ("0.25", 0.25), ("1", 1.0)])
def test_a_share_is_a_number_from_zero_to_one(text, value):
    assert cli.share(text) == value


@pytest.mark.parametrize("text", ["-0.1", "1.5", "a quarter", "nan"])
def test_anything_else_is_refused_as_a_share(text):
    with pytest.raises(argparse.ArgumentTypeError):
        cli.share(text)
