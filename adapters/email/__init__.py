"""E-mail senders: SMTP, and a log for development."""
