"""Where the public evaluation data lives: ``../shared/data`` beside the repository, read in place.

Its licenses forbid shipping it, so it is never copied into this repository.
"""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LOCOMO = SHARED_DATA / "locomo" / "locomo10.json"
INJECTION_DEV = SHARED_DATA / "injection" / "dev.jsonl"
INJECTION_EXTRA = SHARED_DATA / "injection" / "extra.jsonl"
