"""Everything that speaks Discord: the client, start-up and shutdown, owner operations, the
send path, components and the one error path. The core (`bot.briefing`, `bot.render`,
`bot.router`) never imports from here; cogs import from here, never the other way round.
"""
