-- Idempotency keys are kept for GAMEBACKEND_IDEMPOTENCY_RETENTION (24 h by default), then
-- deleted in small batches, oldest first (gamebackend/db/retention.py). This index lets each
-- batch find its rows without scanning the table; keys are stamped with now(), so new entries
-- land at its right edge.
CREATE INDEX idempotency_by_age ON idempotency (created_at);
