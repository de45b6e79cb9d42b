"""Errors that are the user's input's fault. The CLI prints them as one line, never a traceback."""


class MotionlensError(Exception):
    """A problem the user can fix (bad path, bad config, wrong class count...)."""


class VideoError(MotionlensError):
    """A video that cannot be read. The message always names the file and the reason."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ConfigError(MotionlensError):
    """An unknown key, a wrong type or an impossible value in a config or recipe."""
