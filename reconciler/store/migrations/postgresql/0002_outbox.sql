-- The outbox: e-mail written in the same transaction as the change it tells
-- of, delivered after commit, marked sent only once a server accepted it.
CREATE TABLE outbox (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id    TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('notification', 'request')),
    revision      INTEGER NOT NULL,
    recipient     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    body_text     TEXT NOT NULL,
    body_html     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    claimed_until TEXT,
    sent_at       TEXT
);
CREATE INDEX outbox_queued ON outbox (id) WHERE sent_at IS NULL;

-- Changes an actor asked for but may not make (R2, R3), recorded once each.
CREATE TABLE requests (
    key          TEXT PRIMARY KEY,
    revision     INTEGER NOT NULL,
    requester    TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    kind         TEXT NOT NULL,
    target       TEXT NOT NULL,
    before       TEXT,
    after        TEXT,
    requested_of TEXT NOT NULL
);
