"""The companion's personality and emotion engine: fixed Big Five traits, PAD mood, OCC appraisal, needs and
quirks (docs/personality.md)."""
