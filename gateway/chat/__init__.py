"""The conversation: the chat pipeline, the agent runtimes that write replies, and session state."""
