-- Each message keeps its sender, fixed when it is queued as its Message-ID and
-- its text are: `notify` sends a message as it was queued. A message queued
-- before this goes from reconciler@ the domain of its Message-ID, which was
-- the domain of RECONCILER_MAIL_FROM when it was queued (reconciler@localhost
-- when that was not set, as then).
--
-- A delivery that lost the server's answer after the whole message went out
-- marks it uncertain (uncertain_since): the server may have it, so it is not
-- claimed again unless a resend is asked for.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS sender TEXT;
UPDATE outbox SET sender =
    CASE WHEN message_id LIKE '<%@%>'
         THEN 'reconciler@' || rtrim(split_part(message_id, '@', 2), '>')
         ELSE 'reconciler@localhost' END
    WHERE sender IS NULL;
ALTER TABLE outbox ALTER COLUMN sender SET NOT NULL;
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS uncertain_since TEXT;
