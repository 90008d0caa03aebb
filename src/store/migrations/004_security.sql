-- Security: the audit trail, login throttling.

-- Append-only; each entry's hash covers the previous entry's hash, so a changed or deleted
-- row breaks the chain where it happened (patron check finds it).
CREATE TABLE audit_log (
	id {{pk}},
	at BIGINT NOT NULL,
	staff_id BIGINT,
	api_key_id BIGINT,
	ip TEXT,
	action TEXT NOT NULL,
	object_type TEXT,
	object_id TEXT,
	detail TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, id);

-- Failed logins per account and per address, for lockout and throttling.
CREATE TABLE login_failures (
	id {{pk}},
	username TEXT NOT NULL,
	ip TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX login_failures_user_idx ON login_failures (username, at);
CREATE INDEX login_failures_ip_idx ON login_failures (ip, at);

ALTER TABLE staff ADD COLUMN locked_until BIGINT;

-- Staff: who they are and which stores they work in ('[]': every store).
ALTER TABLE staff ADD COLUMN name TEXT;
ALTER TABLE staff ADD COLUMN phone TEXT;
ALTER TABLE staff ADD COLUMN store_ids TEXT NOT NULL DEFAULT '[]';

-- Custom roles, built from the permission list; the built-in ones live in the code.
CREATE TABLE roles (
	id {{pk}},
	name TEXT NOT NULL,
	permissions TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX roles_name_uq ON roles (name);

-- Two-factor sign-in: the TOTP secret (pending until verified) and one-time recovery codes,
-- stored as hashes.
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
CREATE TABLE totp_recovery (
	id {{pk}},
	staff_id BIGINT NOT NULL REFERENCES staff (id),
	code_hash TEXT NOT NULL,
	used_at BIGINT
);
CREATE INDEX totp_recovery_staff_idx ON totp_recovery (staff_id);

-- Members' phone, birthday and note are sealed (encrypted) by the application; exact and
-- prefix lookups go through keyed hashes: phone_hash (unique) and member_search (a hash per
-- phone prefix and the last four digits).
ALTER TABLE members ADD COLUMN phone_hash TEXT;
CREATE UNIQUE INDEX members_phone_hash_uq ON members (phone_hash);
CREATE TABLE member_search (
	member_id BIGINT NOT NULL REFERENCES members (id),
	hash TEXT NOT NULL
);
CREATE INDEX member_search_hash_idx ON member_search (hash, member_id);
CREATE INDEX member_search_member_idx ON member_search (member_id);
