"""One cog per feature (RoboDanny style): conversation, companion, memories, personality, admin, delivery."""
