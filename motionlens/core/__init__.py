"""The bottom layer: what every other package may use and nothing here imports from them.

Errors and exit codes, paths that stay inside their roots, progress on stderr, the cache root,
atomic file writes, the worker-pool job runner, devices and lazy package exports."""
