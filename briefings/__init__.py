"""Briefings: the newest stories (or those on a topic), each merged across outlets and told in a few cited sentences."""
