-- Nothing reads stock movements by store and product: the stock itself is read from `stock`,
-- and the movements are an audit trail. Each of a sale's lines put a row in this index at a
-- random place, a page in the WAL per line at every commit (about a fifth of a sale's pages).
DROP INDEX stock_movements_store_idx;
