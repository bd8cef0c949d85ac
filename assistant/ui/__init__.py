"""The Qt window over :mod:`assistant.core` (the only package that imports Qt)."""
