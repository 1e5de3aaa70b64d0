"""Discord cogs, one per topic. Each is thin: read options, ask the router, send the pages."""
