"""A business's own knowledge base: documents parsed into chunks, ingested into the store,
searched for the passages a turn's models answer from."""
