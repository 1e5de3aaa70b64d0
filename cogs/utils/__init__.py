"""Helpers shared by the cogs: sending pages, the page buttons, owner checks."""
