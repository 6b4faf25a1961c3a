"""The article index: ingest articles, split them into passages, embed and store them."""
