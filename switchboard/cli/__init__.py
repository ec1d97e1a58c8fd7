"""The ``switchboard`` command line. Command modules are imported only when run."""
