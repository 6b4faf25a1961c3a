"""What every layer may use: the errors newsbot raises on purpose, the clock helpers, the migration runner and
the PostgreSQL connection helpers. Imports nothing else of newsbot's."""
