"""Stage: turn texts into vectors (the embedders behind one Protocol)."""
