"""Stage: the chat model (llama.cpp in process, or an OpenAI-compatible server)."""
