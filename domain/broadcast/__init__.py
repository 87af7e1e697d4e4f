"""Broadcast: campaigns that send one text to many Telegram chats, each at most once."""
