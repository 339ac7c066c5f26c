"""What every script's --help shares: the one help formatter."""

import argparse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends an option's default to its help, unless the help already says it or there is
    nothing to say: "chromedriver binary (default: from PATH) (default: None)" told a user
    twice, once uselessly."""

    def _get_help_string(self, action):
        if action.default is None or action.default == [] or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)
