-- Stores, staff, sessions, API keys and members: the foundation.
-- Times are UTC epoch milliseconds; dates are 'YYYY-MM-DD' text; {{pk}} is the auto-numbered key.
CREATE TABLE stores (
	id {{pk}},
	code TEXT NOT NULL,
	name TEXT NOT NULL,
	address TEXT,
	phone TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX stores_code_uq ON stores (code);

CREATE TABLE staff (
	id {{pk}},
	username TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	role TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	disabled_at BIGINT
);
CREATE UNIQUE INDEX staff_username_uq ON staff (username);

CREATE TABLE sessions (
	id {{pk}},
	token_hash TEXT NOT NULL,
	staff_id BIGINT NOT NULL REFERENCES staff (id),
	csrf_token TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash_uq ON sessions (token_hash);

CREATE TABLE api_keys (
	id {{pk}},
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	key_hash TEXT NOT NULL,
	scopes TEXT NOT NULL,
	store_id BIGINT REFERENCES stores (id),
	created_by BIGINT REFERENCES staff (id),
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE UNIQUE INDEX api_keys_key_hash_uq ON api_keys (key_hash);

-- An erased member keeps its row and id (orders and the ledger point at it); its PII columns
-- are NULL, which frees the phone and card number for someone else.
CREATE TABLE members (
	id {{pk}},
	card_no TEXT,
	name TEXT,
	phone TEXT,
	gender TEXT,
	birthday TEXT,
	store_id BIGINT REFERENCES stores (id),
	referral_code TEXT,
	referrer_id BIGINT REFERENCES members (id),
	tags TEXT NOT NULL DEFAULT '[]',
	note TEXT,
	tier_id BIGINT,
	points BIGINT NOT NULL DEFAULT 0,
	total_spend BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	erased_at BIGINT
);
CREATE UNIQUE INDEX members_phone_uq ON members (phone);
CREATE UNIQUE INDEX members_card_no_uq ON members (card_no);
CREATE UNIQUE INDEX members_referral_code_uq ON members (referral_code);
CREATE INDEX members_name_idx ON members (name);
CREATE INDEX members_store_idx ON members (store_id, id);

CREATE TABLE member_tags (
	member_id BIGINT NOT NULL REFERENCES members (id),
	tag TEXT NOT NULL,
	PRIMARY KEY (member_id, tag)
);
CREATE INDEX member_tags_tag_idx ON member_tags (tag, member_id);
