"""What the cogs share; not a cog. A cog module (cogs/*.py) imports from here and never from another
cog, so each cog reads on its own (tests/test_cog_imports.py keeps it so)."""
