"""Nightly reflection and the memory maintenance the jobs run (docs/proactive.md#jobs)."""
