"""CLI commands: flow."""

COMMANDS = []
