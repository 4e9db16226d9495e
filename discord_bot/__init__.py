"""The Discord bot: DMs and mentions, slash commands, and a push server for proactive messages."""
