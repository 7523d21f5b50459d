"""Telegram layer: configuration, handlers, app wiring and the command line."""
