"""Code both certsync entry points use: settings helpers, logging, errors, retry, SDK clients."""

__version__ = "0.1.0"  # as pyproject.toml says (a unit test keeps them equal)
