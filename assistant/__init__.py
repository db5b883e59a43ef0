"""The fintech marketing assistant: settings, agent, chat page and CLI over the warehouse."""

__version__ = "0.1.0"
