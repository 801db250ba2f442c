"""Code both certsync entry points use: settings helpers, logging, errors, retry, SDK clients."""
