"""Nightly reflection and the memory maintenance the jobs run (DESIGN §10)."""
