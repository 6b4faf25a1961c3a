"""newsbot: answers questions about news articles, citing every claim."""
