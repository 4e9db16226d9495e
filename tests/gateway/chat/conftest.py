"""The chat tests' shared fixtures: the app wired to the fake OpenAI-compatible server (defined with the
pipeline tests, shared with every chat test module)."""

from tests.gateway.chat.test_pipeline import chat, chat_app, chat_settings  # noqa: F401
