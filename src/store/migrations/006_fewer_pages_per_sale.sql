-- Fewer pages written per sale. Every index a sale's rows land in at a random place costs a
-- page in the WAL, at each commit, for each sale.

-- Nothing looks transfers up by member: the ledger reads entries, which carry the member.
DROP INDEX point_transfers_member_idx;

-- The expiry job and the reminders look up lots that still hold points by date; a date's
-- lots follow one another in this index, where (expires_on, remaining) scattered each new
-- lot by its points and moved it on every spend.
DROP INDEX point_lots_expiry_idx;
CREATE INDEX point_lots_expiry_idx ON point_lots (expires_on) WHERE remaining > 0;

-- A member's spend per day kept in its primary key's order: one b-tree, not a table and an
-- index (PostgreSQL has no such table kind; its table stays as it is).
{{sqlite}}
CREATE TABLE member_spend_days_by_key (
	member_id BIGINT NOT NULL REFERENCES members (id),
	day TEXT NOT NULL,
	amount BIGINT NOT NULL,
	PRIMARY KEY (member_id, day)
) WITHOUT ROWID;
INSERT INTO member_spend_days_by_key (member_id, day, amount)
	SELECT member_id, day, amount FROM member_spend_days;
DROP TABLE member_spend_days;
ALTER TABLE member_spend_days_by_key RENAME TO member_spend_days;
{{/sqlite}}
