"""Benchmarks of the briefing bot: `python -m bench` (or `python -m bench --quick`).

Every figure is compared with a baseline measured in the same run, on the same machine, a few
seconds apart (these machines are shared and noisy, so a figure from another run means little).
The command prints one Markdown table and writes it, with a description of the machine and
the exact command, to var/benchmarks.md (ignored by git). `python -m bench --write-docs`
writes that report to docs/benchmarks.md instead, the copy kept in git: use it for a full run
on a quiet machine, and commit the result. Nothing here asserts on time: the table says which
goals were met, and the tests never time anything.

What is measured (one module each):

1. `bench.stack` — the whole stack: the bot as its own process (`python -m bench.botproc`:
   the product's own serve loop, `bot.discord_app.serve.serve`, with the real BriefingBot
   built from Settings as `python -m bot run` builds it, plus the bench-only extension
   `bench.ext` with `/baseline`), the fake Discord (`python -m tests.fakediscord`, started as
   a command; the bench imports nothing from tests/) in another process, and this process
   driving it through the fake's control API with the interactions of `bench.interactions`.
   Throughput (unpaced) and p50/p99 latency (paced) of `/who`, `/timeline` and `/search`
   against `/baseline`, in alternating phases so that drift hits all of them alike.
2. `bench.autocomplete` — `cogs.utils.choices.name_choices` over 10,000 synthetic entities,
   against a naive linear scan.
3. `bench.memory` — the bot process's RSS after READY with 1, 1,000 and 10,000 guilds, against
   the same bot with discord.py's default intents, caches and connection state.
4. `bench.startup` — building the database (the bundled briefing, and 1,000 synthetic
   briefings of 100 records each), and a restart on unchanged data, against bare sqlite3.
5. `bench.reload` — `/admin reload what:data` while interactions stream: no failed, unanswered
   or mixed answers.

`bench.corpus` writes the synthetic briefings (valid files with their source texts), and
`bench.profiling` reproduces the profiles behind the findings in docs/benchmarks.md; it is
also how to size a change before making it (a function's share of a profile bounds what
making it free can gain).
"""
