-- Points: settings, a double-entry ledger with lots, tiers, idempotency keys.

-- Business settings as JSON documents, one row per group ('points').
CREATE TABLE settings (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- A transfer moves points between two accounts: a member's wallet and one of the store's
-- system accounts (issued, redeemed, expired, adjustments). Its entries sum to zero.
CREATE TABLE point_transfers (
	id {{pk}},
	kind TEXT NOT NULL,
	member_id BIGINT NOT NULL REFERENCES members (id),
	store_id BIGINT NOT NULL DEFAULT 0,
	order_id BIGINT,
	reason TEXT,
	staff_id BIGINT,
	api_key_id BIGINT,
	created_at BIGINT NOT NULL
);
CREATE INDEX point_transfers_member_idx ON point_transfers (member_id, id);

-- account: 'wallet' (member_id's) or a system account of store_id. balance_after is kept for
-- wallet entries: the member's ledger balance after this entry.
CREATE TABLE point_entries (
	id {{pk}},
	transfer_id BIGINT NOT NULL REFERENCES point_transfers (id),
	member_id BIGINT NOT NULL,
	account TEXT NOT NULL,
	store_id BIGINT NOT NULL DEFAULT 0,
	points BIGINT NOT NULL,
	balance_after BIGINT,
	expires_on TEXT,
	created_at BIGINT NOT NULL
);
CREATE INDEX point_entries_member_idx ON point_entries (member_id, account, id);
CREATE INDEX point_entries_transfer_idx ON point_entries (transfer_id);

-- Every credit is a lot; remaining = points + the sum of its moves (spends and expiry are
-- negative, returns positive). expires_on NULL never expires.
CREATE TABLE point_lots (
	id {{pk}},
	member_id BIGINT NOT NULL REFERENCES members (id),
	entry_id BIGINT NOT NULL REFERENCES point_entries (id),
	points BIGINT NOT NULL,
	remaining BIGINT NOT NULL,
	expires_on TEXT,
	created_at BIGINT NOT NULL
);
CREATE INDEX point_lots_member_idx ON point_lots (member_id, remaining);
CREATE INDEX point_lots_expiry_idx ON point_lots (expires_on, remaining);

CREATE TABLE point_lot_moves (
	id {{pk}},
	member_id BIGINT NOT NULL,
	lot_id BIGINT NOT NULL REFERENCES point_lots (id),
	entry_id BIGINT NOT NULL REFERENCES point_entries (id),
	points BIGINT NOT NULL
);
CREATE INDEX point_lot_moves_lot_idx ON point_lot_moves (lot_id);
CREATE INDEX point_lot_moves_entry_idx ON point_lot_moves (entry_id);

CREATE TABLE tiers (
	id {{pk}},
	name TEXT NOT NULL,
	rank INTEGER NOT NULL,
	threshold BIGINT NOT NULL,
	basis TEXT NOT NULL,
	discount_bp INTEGER NOT NULL,
	points_multiplier_bp INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tiers_name_uq ON tiers (name);
CREATE UNIQUE INDEX tiers_rank_uq ON tiers (rank);

CREATE TABLE member_tier_history (
	id {{pk}},
	member_id BIGINT NOT NULL REFERENCES members (id),
	from_tier_id BIGINT,
	to_tier_id BIGINT,
	reason TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX member_tier_history_member_idx ON member_tier_history (member_id, id);

-- Spend per member per local day, for rolling-12-month tiers.
CREATE TABLE member_spend_days (
	member_id BIGINT NOT NULL REFERENCES members (id),
	day TEXT NOT NULL,
	amount BIGINT NOT NULL,
	PRIMARY KEY (member_id, day)
);

CREATE TABLE idempotency_keys (
	id {{pk}},
	caller TEXT NOT NULL,
	key TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	state TEXT NOT NULL,
	status INTEGER,
	response TEXT,
	created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX idempotency_keys_key_uq ON idempotency_keys (caller, key);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
