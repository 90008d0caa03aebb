-- The expiry job reads lots holding points date by date, in id order within a date, a batch
-- at a time from where the last one ended. SQLite's index on expires_on already keeps a
-- date's rows in id order (the rowid ends every key); PostgreSQL's needs the id in the key,
-- or it sorts every lot of the date again for each batch.
{{postgres}}
DROP INDEX point_lots_expiry_idx;
CREATE INDEX point_lots_expiry_idx ON point_lots (expires_on, id) WHERE remaining > 0;
{{/postgres}}
