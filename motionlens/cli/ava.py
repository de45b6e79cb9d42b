"""CLI commands: ava."""

COMMANDS = []
