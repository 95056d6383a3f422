"""Errors meant for the user: interfaces print their message as one line, never a traceback."""


class StudioError(Exception):
    """A problem with the user's input or request, with a message a person can act on."""
