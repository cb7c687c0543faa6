"""The one exception type for user mistakes; the CLI prints it as one line and exits 2."""


def _one_line(message: object) -> str:
    """Line breaks a message quotes from user input (a YAML key, a path) shown as escapes."""
    return str(message).replace("\r", "\\r").replace("\n", "\\n")


class UserError(Exception):
    """Bad input from the user (a path, a flag, a template, a config key): say which and what to do.

    The message is one line by construction: text quoted from the input cannot break it.
    """

    exit_code = 2

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(_one_line(message), *args)


class BadItem(UserError):
    """One input item (a page image, a path named in a row) that cannot be used. A stage records
    it and goes on with the others; uncaught, it is a one-line error like any ``UserError``."""
