"""Importers: a harness's own session files on disk -> :class:`HandoffState`."""
