"""Chat: the bot's conversations, one thread per Telegram chat, messages both ways."""
