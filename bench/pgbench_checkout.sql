-- The checkout of the benchmark's load as raw SQL for pgbench: the statements Patron's
-- POST /checkout sends to PostgreSQL (read off its statement log), in the same two
-- transactions (the idempotency key, then the sale), for a member with three lines earning
-- points. The baseline Patron's PostgreSQL figure is read against; bench/run.py runs it with
--   pgbench -n -f bench/pgbench_checkout.sql -D members=N -D products=K -c 64 -j 2 -T S
\set mid random(1, :members)
\set store random(1, 3)
\set p1 random(1, :products)
\set p2 random(1, :products)
\set p3 random(1, :products)
\set now 1764000000000
BEGIN;
INSERT INTO idempotency_keys (caller, key, request_hash, state, created_at)
  VALUES ('pgbench', md5(random()::text || :client_id), 'h', 'running', :now)
  ON CONFLICT (caller, key) DO NOTHING RETURNING id \gset idem_
COMMIT;
BEGIN;
SELECT id, code, name FROM stores WHERE id = :store;
SELECT value FROM settings WHERE name = 'points';
SELECT points FROM members WHERE id = :mid AND erased_at IS NULL FOR NO KEY UPDATE;
SELECT id, card_no, name, phone, tier_id, points, total_spend FROM members WHERE id = :mid;
SELECT COALESCE(SUM(remaining), 0) FROM point_lots
  WHERE member_id = :mid AND remaining > 0 AND expires_on IS NOT NULL AND expires_on < '2026-11-25';
SELECT id, sku, name, price, member_price, points_multiplier_bp, discountable FROM products WHERE id = :p1;
SELECT id, sku, name, price, member_price, points_multiplier_bp, discountable FROM products WHERE id = :p2;
SELECT id, sku, name, price, member_price, points_multiplier_bp, discountable FROM products WHERE id = :p3;
SELECT id, name, kind, levels FROM promotions WHERE starts_at <= :now AND ends_at > :now;
INSERT INTO orders (store_id, member_id, staff_id, api_key_id, gross, total, cash_due,
    points_redeemed, points_value, points_earned, coupon_id, priced, note, created_at)
  VALUES (:store, :mid, NULL, NULL, 3000, 3000, 3000, 0, 0, 30, NULL, '{}', NULL, :now)
  RETURNING id \gset order_
INSERT INTO order_lines (order_id, line_no, product_id, sku, name, qty, unit_price, net, cash,
    points_value, points_redeemed) VALUES (:order_id, 0, :p1, 'B', 'n', 1, 1000, 1000, 1000, 0, 0);
UPDATE stock SET qty = qty - 1, updated_at = :now WHERE store_id = :store AND product_id = :p1 AND qty - 1 >= 0 RETURNING qty;
INSERT INTO stock_movements (store_id, product_id, kind, qty, qty_after, order_id, created_at)
  VALUES (:store, :p1, 'sale', -1, 0, :order_id, :now);
INSERT INTO order_lines (order_id, line_no, product_id, sku, name, qty, unit_price, net, cash,
    points_value, points_redeemed) VALUES (:order_id, 1, :p2, 'B', 'n', 1, 1000, 1000, 1000, 0, 0);
UPDATE stock SET qty = qty - 1, updated_at = :now WHERE store_id = :store AND product_id = :p2 AND qty - 1 >= 0 RETURNING qty;
INSERT INTO stock_movements (store_id, product_id, kind, qty, qty_after, order_id, created_at)
  VALUES (:store, :p2, 'sale', -1, 0, :order_id, :now);
INSERT INTO order_lines (order_id, line_no, product_id, sku, name, qty, unit_price, net, cash,
    points_value, points_redeemed) VALUES (:order_id, 2, :p3, 'B', 'n', 1, 1000, 1000, 1000, 0, 0);
UPDATE stock SET qty = qty - 1, updated_at = :now WHERE store_id = :store AND product_id = :p3 AND qty - 1 >= 0 RETURNING qty;
INSERT INTO stock_movements (store_id, product_id, kind, qty, qty_after, order_id, created_at)
  VALUES (:store, :p3, 'sale', -1, 0, :order_id, :now);
SELECT points FROM members WHERE id = :mid AND erased_at IS NULL FOR NO KEY UPDATE;
INSERT INTO point_transfers (kind, member_id, store_id, order_id, created_at)
  VALUES ('earn', :mid, :store, :order_id, :now) RETURNING id \gset transfer_
INSERT INTO point_entries (transfer_id, member_id, account, store_id, points, balance_after, created_at)
  VALUES (:transfer_id, :mid, 'wallet', :store, 30, 0, :now) RETURNING id \gset entry_
INSERT INTO point_entries (transfer_id, member_id, account, store_id, points, created_at)
  VALUES (:transfer_id, :mid, 'earned', :store, -30, :now);
UPDATE members SET points = points + 30 WHERE id = :mid;
SELECT id, points, remaining, expires_on FROM point_lots WHERE member_id = :mid AND remaining > 0
  ORDER BY CASE WHEN expires_on IS NULL THEN 1 ELSE 0 END, expires_on, id;
INSERT INTO point_lots (member_id, entry_id, points, remaining, expires_on, created_at)
  VALUES (:mid, :entry_id, 30, 30, NULL, :now);
INSERT INTO member_spend_days (member_id, day, amount) VALUES (:mid, '2026-11-25', 3000)
  ON CONFLICT (member_id, day) DO UPDATE SET amount = member_spend_days.amount + excluded.amount;
UPDATE members SET total_spend = total_spend + 3000 WHERE id = :mid;
SELECT id, name, rank, threshold FROM tiers ORDER BY rank;
UPDATE orders SET priced = '{}' WHERE id = :order_id;
UPDATE idempotency_keys SET state = 'done', status = 201, response = '{}' WHERE id = :idem_id;
COMMIT;
