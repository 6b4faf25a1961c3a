"""The Telegram bot: handlers that turn messages into questions and answers into Telegram messages."""
