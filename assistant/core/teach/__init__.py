"""Supervised fine-tuning: teach the chat model question/answer pairs with LoRA on
the CPU and export the result as a GGUF LoRA adapter that llama.cpp loads."""
