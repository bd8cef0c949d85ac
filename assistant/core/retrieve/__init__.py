"""Stage: find the passages for a question (hybrid search, fusion, re-ranking)."""
