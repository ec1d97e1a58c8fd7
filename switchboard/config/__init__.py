"""Configuration: the schema, loading with precise error reports, discovery and ``init``."""
