"""The terminal channel: a customer's chat on stdin and stdout (chat), on the same core as
Telegram and the web."""
