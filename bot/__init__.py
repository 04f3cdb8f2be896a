"""Picket's process: settings, wiring, entry points and the metrics endpoint."""
