"""CLI commands: infer."""

COMMANDS = []
