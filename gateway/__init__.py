"""The Companion gateway: every decision about personality, memory, security and initiative."""
