"""The one exception type for user mistakes; the CLI prints it as one line and exits 2."""


class UserError(Exception):
    """Bad input from the user (a path, a flag, a template, a config key): say which and what to do."""

    exit_code = 2


class BadItem(UserError):
    """One input item (a page image, a path named in a row) that cannot be used. A stage records
    it and goes on with the others; uncaught, it is a one-line error like any ``UserError``."""
