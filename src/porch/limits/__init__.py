"""Rate-limit policies and budgets."""
