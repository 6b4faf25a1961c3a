-- Several bot workers on one state database, so that nothing happens twice.
-- The bot processes alive (a heartbeat every few seconds; Unix seconds): the bot's Telegram budget is shared
-- among them.
CREATE TABLE workers (
    id TEXT PRIMARY KEY, host TEXT NOT NULL, pid BIGINT NOT NULL, started_at DOUBLE PRECISION NOT NULL,
    seen_at DOUBLE PRECISION NOT NULL
);
-- Each scheduled briefing's occurrence (slot, its UTC time) is claimed by one worker before it is prepared, for a
-- lease; posted (or failed) once, whatever number of workers run the schedule. attempts: claims so far.
CREATE TABLE schedule_runs (
    schedule_id BIGINT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE, slot TEXT NOT NULL, worker TEXT NOT NULL,
    lease_until TEXT NOT NULL, attempts INTEGER NOT NULL, finished_at TEXT, outcome TEXT, PRIMARY KEY (schedule_id, slot)
);
-- When a schedule was made: a briefing missed while no worker ran is caught up only if it was scheduled by then.
ALTER TABLE schedules ADD COLUMN created_at TEXT;
-- When a worker last claimed the feed's poll: others leave it alone for most of a poll interval.
ALTER TABLE feeds ADD COLUMN polled_at TEXT;
-- An entry being fetched (status 'claimed') belongs to one worker until claimed_until.
ALTER TABLE entries ADD COLUMN claimed_by TEXT;
ALTER TABLE entries ADD COLUMN claimed_until TEXT;
-- Inline mode: each user's newest query (Telegram sends one per keystroke); only it is answered, by one worker.
CREATE TABLE inline_queries (user_id BIGINT PRIMARY KEY, query_id TEXT NOT NULL, at TEXT NOT NULL);
