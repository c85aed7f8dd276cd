"""The one exception type for mistakes a user can fix."""


class UserError(ValueError):
    """Bad input from a user: shown as one sentence (CLI exit 2, ``st.error`` on a page)."""
