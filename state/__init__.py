"""What the bot remembers besides the index: conversations, answers and feedback, scheduled briefings, feed
subscriptions and the entries taken in. One database (SQLite by default, PostgreSQL with DATABASE_URL)."""
