"""Conversations and messages as stored: the queries chat and realtime share."""
