"""Stage: the library's storage (LanceDB rows, full text and vectors) and scopes."""
