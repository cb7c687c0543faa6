"""The one exception type for user mistakes; the CLI prints it as one line and exits 2."""


class UserError(Exception):
    """Bad input from the user (a path, a flag, a template, a config key): say which and what to do."""

    exit_code = 2
