"""Scripts that build the course models: tokenizer, training runs, the scaling sweep, evaluation."""
