"""Stage: teaching (supervised fine-tuning): the chat model learns question/answer
pairs with LoRA on the CPU; the result is a GGUF LoRA adapter llama.cpp loads."""
