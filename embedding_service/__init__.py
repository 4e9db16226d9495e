"""The embedding service: documents, queries and OpenAI-compatible embeddings, with a Redis cache."""
