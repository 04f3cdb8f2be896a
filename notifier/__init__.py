"""DM delivery (outbox drain, retries, rate limits), alert matching and the scheduler."""
