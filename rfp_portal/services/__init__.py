"""The portal's verbs. No Flask here: services flush, the caller commits, errors are domain errors."""


class DomainError(Exception):
    """A rule of the portal refused the action; the message is fit to show to the person."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The person may not do this to this thing."""
