"""Native session transplant: a handoff state written as a session a harness can resume."""
