"""Stage: the prompt, the answer's citations and the check of every claim."""
