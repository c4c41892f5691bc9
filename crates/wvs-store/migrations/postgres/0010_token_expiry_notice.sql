-- WVS schema, version 10: access token expiry notices.
--
-- When the `expiring_access_token` event of a token was sent (seven days before it
-- expires, as GitLab does). Set once, by whichever node sent it; tokens still to be told
-- are found by their expiry.
ALTER TABLE access_tokens ADD COLUMN expiry_notified_at BIGINT;
CREATE INDEX access_tokens_expiring ON access_tokens (expires_at) WHERE expiry_notified_at IS NULL;
