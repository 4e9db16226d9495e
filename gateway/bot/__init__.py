"""The Discord bot as the gateway sees it: where its push server is (registration and heartbeat)."""
