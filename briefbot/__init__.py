"""Briefbot: a Telegram bot that summarizes stored news articles with a local model."""
