"""Every script's --help shows each real default once and no empty ones."""

import importlib
import re

import pytest

import cpu  # noqa: F401  (before TensorFlow, as every entry point does)

SCRIPTS = ["bench", "dataset", "ensemble", "evaluate", "mountains", "scrape", "study", "train",
           "tools.attribution", "tools.colour_stats", "tools.variants"]


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
    options = re.split(r" (?=--?[a-z])", text)
    assert not [option for option in options if option.count("(default") > 1]


def test_help_still_shows_real_defaults(capsys):
    text = " ".join(help_text("train", capsys).split())
    assert re.search(r"--epochs EPOCHS .*?\(default: \d+\)", text)
