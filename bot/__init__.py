"""Briefing Bot: answers questions about a news story from a sourced, structured briefing."""

__version__ = "0.1.0"
