"""Proactive messages: the companion writes first when its score says so and no hard limit forbids it."""
