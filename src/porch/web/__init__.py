"""The widget loader, the chat page it frames, the demo page and the dashboard."""
