"""Cross-cutting protections: CORS per widget, security headers, the outbound-URL check."""
