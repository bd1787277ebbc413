"""The one exception type the CLI and the app turn into a one-line message."""


class NppError(Exception):
    """A user-facing failure: bad input, a missing tool or model, a corrupt file.

    Its message is complete on its own (one line, no traceback needed)."""
