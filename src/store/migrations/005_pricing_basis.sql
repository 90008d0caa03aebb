-- What a price rests on besides the member and the coupon: stores, settings, tiers, products,
-- promotions, coupon templates. Any change to them counts one more generation, inside the
-- transaction that makes it, so a checkout priced before a change can tell and price again
-- (src/service/checkout.c).
CREATE TABLE pricing_basis (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	generation BIGINT NOT NULL
);
INSERT INTO pricing_basis (id, generation) VALUES (1, 0);

{{sqlite}}
CREATE TRIGGER stores_basis_ins AFTER INSERT ON stores BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER stores_basis_upd AFTER UPDATE ON stores BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER stores_basis_del AFTER DELETE ON stores BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER settings_basis_ins AFTER INSERT ON settings BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER settings_basis_upd AFTER UPDATE ON settings BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER settings_basis_del AFTER DELETE ON settings BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER tiers_basis_ins AFTER INSERT ON tiers BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER tiers_basis_upd AFTER UPDATE ON tiers BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER tiers_basis_del AFTER DELETE ON tiers BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER products_basis_ins AFTER INSERT ON products BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER products_basis_upd AFTER UPDATE ON products BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER products_basis_del AFTER DELETE ON products BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER promotions_basis_ins AFTER INSERT ON promotions BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER promotions_basis_upd AFTER UPDATE ON promotions BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER promotions_basis_del AFTER DELETE ON promotions BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER coupon_templates_basis_ins AFTER INSERT ON coupon_templates BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER coupon_templates_basis_upd AFTER UPDATE ON coupon_templates BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
CREATE TRIGGER coupon_templates_basis_del AFTER DELETE ON coupon_templates BEGIN UPDATE pricing_basis SET generation = generation + 1; END;
{{/sqlite}}
{{postgres}}
CREATE FUNCTION pricing_basis_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE pricing_basis SET generation = generation + 1;
	RETURN NULL;
END
$$;
CREATE TRIGGER stores_basis AFTER INSERT OR UPDATE OR DELETE ON stores
	FOR EACH STATEMENT EXECUTE FUNCTION pricing_basis_changed();
CREATE TRIGGER settings_basis AFTER INSERT OR UPDATE OR DELETE ON settings
	FOR EACH STATEMENT EXECUTE FUNCTION pricing_basis_changed();
CREATE TRIGGER tiers_basis AFTER INSERT OR UPDATE OR DELETE ON tiers
	FOR EACH STATEMENT EXECUTE FUNCTION pricing_basis_changed();
CREATE TRIGGER products_basis AFTER INSERT OR UPDATE OR DELETE ON products
	FOR EACH STATEMENT EXECUTE FUNCTION pricing_basis_changed();
CREATE TRIGGER promotions_basis AFTER INSERT OR UPDATE OR DELETE ON promotions
	FOR EACH STATEMENT EXECUTE FUNCTION pricing_basis_changed();
CREATE TRIGGER coupon_templates_basis AFTER INSERT OR UPDATE OR DELETE ON coupon_templates
	FOR EACH STATEMENT EXECUTE FUNCTION pricing_basis_changed();
{{/postgres}}
