"""Cross-cutting protections: CORS per widget, security headers."""
