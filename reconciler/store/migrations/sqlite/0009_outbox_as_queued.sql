-- Each message keeps its sender, fixed when it is queued as its Message-ID and
-- its text are: `notify` sends a message as it was queued. A message queued
-- before this goes from reconciler@ the domain of its Message-ID, which was
-- the domain of RECONCILER_MAIL_FROM when it was queued (reconciler@localhost
-- when that was not set, as then).
--
-- A delivery that lost the server's answer after the whole message went out
-- marks it uncertain (uncertain_since): the server may have it, so it is not
-- claimed again unless a resend is asked for.
--
-- SQLite adds a NOT NULL column without a default only by building the table
-- anew; the rows keep their ids.
CREATE TABLE outbox_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
    sent_at       TEXT,
    sender        TEXT NOT NULL,
    uncertain_since TEXT
);
INSERT INTO outbox_new (id, message_id, kind, revision, recipient, subject, body_text, body_html,
                        created_at, attempts, last_error, claimed_until, sent_at, sender)
    SELECT id, message_id, kind, revision, recipient, subject, body_text, body_html,
           created_at, attempts, last_error, claimed_until, sent_at,
           CASE WHEN message_id LIKE '<%@%>'
                THEN 'reconciler@' || rtrim(substr(message_id, instr(message_id, '@') + 1), '>')
                ELSE 'reconciler@localhost' END
    FROM outbox ORDER BY id;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_queued ON outbox (id) WHERE sent_at IS NULL;
