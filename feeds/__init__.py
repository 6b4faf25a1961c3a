"""News feeds: RSS/Atom subscriptions polled into the index through the same ingestion path as `/add`."""
