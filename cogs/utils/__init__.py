"""Helpers shared by the cogs (re-imported on `/admin reload what:cogs`)."""
