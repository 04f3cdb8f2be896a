"""Picket's booking domain: shows, seats, holds, orders, tickets, queue, waitlist, follows.

Nothing in this package imports discord: cogs and the notifier call these services and render the results.
"""
