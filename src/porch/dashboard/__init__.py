"""The owner dashboard at /app/: server-rendered pages, small vanilla JS over the JSON API."""
