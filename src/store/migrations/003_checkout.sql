-- Checkout: products, stock, coupons, promotions, orders and refunds.

CREATE TABLE products (
	id {{pk}},
	sku TEXT NOT NULL,
	name TEXT NOT NULL,
	price BIGINT NOT NULL,
	member_price BIGINT,
	barcode TEXT,
	category TEXT,
	cost BIGINT,
	points_multiplier_bp BIGINT NOT NULL,
	discountable INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX products_sku_uq ON products (sku);
CREATE UNIQUE INDEX products_barcode_uq ON products (barcode);
CREATE INDEX products_name_idx ON products (name);

-- Stock per store; qty never below zero (every change is a conditional update).
CREATE TABLE stock (
	store_id BIGINT NOT NULL REFERENCES stores (id),
	product_id BIGINT NOT NULL REFERENCES products (id),
	qty BIGINT NOT NULL,
	low_threshold BIGINT NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (store_id, product_id),
	CHECK (qty >= 0)
);

CREATE TABLE stock_movements (
	id {{pk}},
	store_id BIGINT NOT NULL,
	product_id BIGINT NOT NULL,
	kind TEXT NOT NULL,
	qty BIGINT NOT NULL,
	qty_after BIGINT NOT NULL,
	order_id BIGINT,
	refund_id BIGINT,
	to_store_id BIGINT,
	note TEXT,
	staff_id BIGINT,
	api_key_id BIGINT,
	created_at BIGINT NOT NULL
);
CREATE INDEX stock_movements_store_idx ON stock_movements (store_id, product_id, id);

CREATE TABLE coupon_templates (
	id {{pk}},
	name TEXT NOT NULL,
	kind TEXT NOT NULL,
	value BIGINT NOT NULL,
	min_spend BIGINT NOT NULL,
	max_off BIGINT,
	valid_days BIGINT,
	valid_from BIGINT,
	valid_until BIGINT,
	store_ids TEXT NOT NULL,
	total_limit BIGINT,
	per_member_limit BIGINT,
	issued BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL
);

CREATE TABLE coupons (
	id {{pk}},
	code TEXT NOT NULL,
	template_id BIGINT NOT NULL REFERENCES coupon_templates (id),
	member_id BIGINT NOT NULL REFERENCES members (id),
	status TEXT NOT NULL,
	valid_from BIGINT NOT NULL,
	valid_until BIGINT NOT NULL,
	order_id BIGINT,
	used_at BIGINT,
	created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX coupons_code_uq ON coupons (code);
CREATE INDEX coupons_member_idx ON coupons (member_id, id);
CREATE INDEX coupons_template_idx ON coupons (template_id, member_id);

CREATE TABLE promotions (
	id {{pk}},
	name TEXT NOT NULL,
	kind TEXT NOT NULL,
	levels TEXT NOT NULL,
	repeat INTEGER NOT NULL,
	max_off BIGINT,
	multiplier_bp BIGINT,
	starts_at BIGINT NOT NULL,
	ends_at BIGINT NOT NULL,
	store_ids TEXT NOT NULL,
	tier_ids TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- An order keeps the priced answer as committed (priced), so GET /orders/{id} shows exactly
-- what the till was told; lines are rows as well, for refunds and reports.
CREATE TABLE orders (
	id {{pk}},
	store_id BIGINT NOT NULL REFERENCES stores (id),
	member_id BIGINT REFERENCES members (id),
	staff_id BIGINT,
	api_key_id BIGINT,
	gross BIGINT NOT NULL,
	total BIGINT NOT NULL,
	cash_due BIGINT NOT NULL,
	points_redeemed BIGINT NOT NULL,
	points_value BIGINT NOT NULL,
	points_earned BIGINT NOT NULL,
	coupon_id BIGINT,
	cash_refunded BIGINT NOT NULL DEFAULT 0,
	points_clawed_back BIGINT NOT NULL DEFAULT 0,
	priced TEXT NOT NULL,
	note TEXT,
	created_at BIGINT NOT NULL
);
CREATE INDEX orders_member_idx ON orders (member_id, id);
CREATE INDEX orders_store_idx ON orders (store_id, id);
CREATE INDEX orders_created_idx ON orders (created_at);

CREATE TABLE order_lines (
	id {{pk}},
	order_id BIGINT NOT NULL REFERENCES orders (id),
	line_no INTEGER NOT NULL,
	product_id BIGINT,
	sku TEXT,
	name TEXT NOT NULL,
	qty BIGINT NOT NULL,
	unit_price BIGINT NOT NULL,
	net BIGINT NOT NULL,
	cash BIGINT NOT NULL,
	points_value BIGINT NOT NULL,
	points_redeemed BIGINT NOT NULL,
	refunded_qty BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id, line_no);

CREATE TABLE refunds (
	id {{pk}},
	order_id BIGINT NOT NULL REFERENCES orders (id),
	member_id BIGINT,
	cash BIGINT NOT NULL,
	points_returned BIGINT NOT NULL,
	points_clawback BIGINT NOT NULL,
	detail TEXT NOT NULL,
	staff_id BIGINT,
	api_key_id BIGINT,
	created_at BIGINT NOT NULL
);
CREATE INDEX refunds_order_idx ON refunds (order_id, id);
