"""What every script's command line shares: the one help formatter and argument types."""

import argparse

import files


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends an option's default to its help, unless the help already says it or there is
    nothing to say: "chromedriver binary (default: from PATH) (default: None)" told a user
    twice, once uselessly."""

    def _get_help_string(self, action):
        if action.default is None or action.default == [] or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def share(text):
    """argparse type: a fraction of the items, from 0 to 1 ("0.25")."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1, got {text}")
    return value


def positive(text):
    """argparse type: a number greater than zero ("1.2")."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than zero, got {text}")
    return value


def check_output_folders(parser, *folders):
    """A usage error for the first (option, path, purpose) whose folder cannot be made (a file,
    or a path through one), before any work; a path of None (a default chosen later) passes."""
    for option, path, purpose in folders:
        refusal = path is not None and files.not_a_folder(option, path, purpose)
        if refusal:
            parser.error(refusal)
