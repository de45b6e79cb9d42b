"""Errors that are the user's input's fault. The CLI prints them as one line, never a traceback.

Exit status: 2 when the command line asked for something that cannot be (an unknown name, a bad
value, a path that is not what the command needs), 1 when the command was right but its work
failed (unreadable videos, a full disk, a stream that did not come back)."""


class MotionlensError(Exception):
    """A problem the user can fix (bad path, bad config, wrong class count...)."""

    exit_code = 2


class TaskFailed(MotionlensError):
    """The command was right, but some or all of its work failed; the message says what and why."""

    exit_code = 1


class VideoError(MotionlensError):
    """A video that cannot be read. The message always names the file and the reason."""

    exit_code = 1

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ConfigError(MotionlensError):
    """An unknown key, a wrong type or an impossible value in a config or recipe."""
