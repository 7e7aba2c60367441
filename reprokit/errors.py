"""The one exception type reprokit raises for problems a user can fix."""


class ReprokitError(Exception):
    """A problem with the user's input, data or environment, stated with its fix.

    The pytest plugin shows these as one message, never as a traceback.
    """


class DataError(ReprokitError):
    """A data set is missing, corrupt or not what the claims were written against."""


class ExpectationError(ReprokitError):
    """An expectation file in ``expected/`` is malformed."""
