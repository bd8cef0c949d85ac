"""Assistant: an offline desktop knowledge assistant that cites its sources."""

__version__ = "0.1.0"
