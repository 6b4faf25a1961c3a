"""The answering core: retrieve passages, answer with numbered citations or abstain. Knows nothing of Telegram."""
