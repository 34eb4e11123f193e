"""The one exception type for errors a user can cause (bad path, unknown layer, no data...).

Library code raises :class:`UserError` with a message that says what is wrong and how to fix
it; the command layer prints that single line and exits with status 2.
"""


class UserError(Exception):
    """A problem with the user's input, reported as one clear line, never a traceback."""
