"""Telegram as the bot sees it: the Bot API client, send pacing, and the chats it knows
(subscribed to broadcasts or not, blocked or not). Broadcast and chat both build on it."""
