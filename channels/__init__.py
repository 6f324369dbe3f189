"""Thin adapters from a channel (terminal, Telegram, WeChat, web) to the answering core."""
