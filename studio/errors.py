"""Errors meant for the user: interfaces print their message as one line, never a traceback."""


class StudioError(Exception):
    """A problem with the user's input or request, with a message a person can act on."""


def shown(value, limit: int = 40) -> str:
    """A value the user gave, as a message echoes it: quoted, ASCII-escaped (a newline, a terminal
    escape or a lone surrogate must not break the message's one line or the terminal), cut short."""
    text = ascii(str(value))
    return text if len(text) <= limit else text[:limit - 3] + "..."
