"""The one exception type reprokit raises for problems a user can fix."""


class ReprokitError(Exception):
    """A problem with the user's input, data or environment, stated with its fix.

    The pytest plugin shows these as one message, never as a traceback.
    """


class DataError(ReprokitError):
    """A data set is missing, corrupt or not what the claims were written against."""


class ExpectationError(ReprokitError):
    """Expectation files in ``expected/`` are malformed: every problem found, one line each."""

    def __init__(self, *problems: str):
        self.problems = list(problems)
        if len(problems) == 1:
            super().__init__(problems[0])
        else:
            super().__init__(f"{len(problems)} problems in the expectation files:\n"
                             + "\n".join(f"  {p}" for p in problems))
