"""A source into passages: fetch, extract, chunk, embed, publish; its jobs and re-syncs."""
