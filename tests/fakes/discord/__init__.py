"""A fake Discord (REST + gateway websocket) for the real discord.py client; see server.py."""

from tests.fakes.discord.server import FakeDiscord, FakeInteraction

__all__ = ["FakeDiscord", "FakeInteraction"]
