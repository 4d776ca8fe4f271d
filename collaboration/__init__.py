"""Collaboration: presence, shared state and live edits in the designer, over Channels."""
