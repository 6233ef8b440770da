"""The netagent's router error, free of the RouterOS client so the domain modules (the
applier, the command handlers, the workers) can raise and catch it without importing it."""

from __future__ import annotations


class RouterError(Exception):
    """A router operation failed; ``permanent`` says retrying the same thing cannot help."""

    def __init__(self, message: str, *, permanent: bool, router: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.router = router

    def __str__(self) -> str:
        return f"{self.router}: {self.message}" if self.router else self.message
