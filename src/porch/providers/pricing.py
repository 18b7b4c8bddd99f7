"""What a reply cost, from the token counts and the settings' price list."""

from __future__ import annotations

from porch.providers.base import Usage
from porch.settings import Settings


def cost_usd(settings: Settings, model: str, usage: Usage) -> float:
    """US dollars for `usage` on `model`; 0.0 when the model has no known price."""
    price = settings.price(model)
    if price is None:
        return 0.0
    return (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1_000_000
