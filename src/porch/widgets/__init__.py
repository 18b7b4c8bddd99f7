"""Widget config, theme, allowed origins, public config."""
