"""Webhooks: per-workspace subscriptions, signed deliveries through the job queue, a log."""
