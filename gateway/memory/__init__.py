"""Memory: episodic and semantic memories, importance, hybrid retrieval with MMR, consolidation."""
