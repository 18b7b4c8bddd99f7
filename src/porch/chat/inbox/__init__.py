"""The agents' inbox: list and read conversations, reply, assign, release, mark read."""
