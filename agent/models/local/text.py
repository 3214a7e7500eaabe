"""Tokenizing for the local model's matching: the platform's one tokenizer."""

from agent.terms import STOP_WORDS, stem, tokens

__all__ = ["STOP_WORDS", "stem", "tokens"]
