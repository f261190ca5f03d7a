"""aos-server: the AOS runtime as an HTTP service (`aos serve`), with API keys, a worker pool,
live events and approvals that survive restarts. See docs/server.md."""

__version__ = "0.1.0"
__all__ = ["__version__"]
