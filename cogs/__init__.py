"""One discord.py cog per user-facing area. Thin: parse, call the domain, render."""
