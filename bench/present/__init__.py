"""Presentation: units and number formatting, format-neutral table builders, and the
plain-text renderer. Markdown and HTML (``reports``) render the same tables."""
