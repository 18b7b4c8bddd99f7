"""Usage counters and budgets: messages per day, LLM tokens and cost per month."""
