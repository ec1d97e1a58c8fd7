"""The terminal UI: `switchboard tui` (Textual is imported only here)."""
