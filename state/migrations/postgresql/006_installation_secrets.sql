-- Secrets made once per installation and shared by every worker on this state database (e.g. the webhook's
-- secret token when WEBHOOK_SECRET is not set).
CREATE TABLE installation_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at TEXT NOT NULL);
