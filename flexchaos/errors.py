"""The one exception type users see as a single readable line (what is wrong, what to do)."""


class FlexchaosError(Exception):
    """A user-facing error: its message is printed as one line and nothing was changed."""
