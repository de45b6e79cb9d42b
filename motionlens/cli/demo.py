"""CLI commands: demo."""

COMMANDS = []
