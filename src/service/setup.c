#include "service/setup.h"

#include "core/demo_people.h"
#include "service/audit.h"
#include "service/auth.h"
#include "service/demo.h"
#include "service/members.h"
#include "store/repo.h"
#include "util/clock.h"
#include "util/keys.h"

int pt_svc_init_owner(pt_db *db, const char *username, const char *password, pt_err *err)
{
	pt_arena *a = pt_arena_new();
	if (!a)
		return pt_err_oom(err);
	int64_t count = 0, id;
	int rc = pt_repo_staff_count(db, a, &count, err);
	pt_arena_free(a);
	if (rc != 0)
		return -1;
	if (count > 0)
		return pt_err_set(err, PT_CONFLICT, NULL,
		                  "the database is already initialised (it has staff accounts)",
		                  "数据库已初始化（已有员工账号）");
	return pt_svc_staff_create(db, username, password, "owner", &id, err);
}

static const struct {
	const char *code, *name, *address, *phone;
} demo_stores[] = {
    {"SH-001", "上海静安旗舰店", "上海市静安区南京西路 1266 号", "021-62881234"},
    {"SH-002", "上海徐汇店", "上海市徐汇区漕溪北路 88 号", "021-64871122"},
    {"HZ-001", "杭州西湖店", "杭州市西湖区文三路 478 号", "0571-88213456"},
};
enum { DEMO_STORES = sizeof(demo_stores) / sizeof(demo_stores[0]) };

static const pt_tier demo_tiers[] = {
    {.name = "普通",
     .rank = 0,
     .threshold = 0,
     .discount_bp = 10000,
     .points_multiplier_bp = 10000},
    {.name = "银卡",
     .rank = 1,
     .threshold = 100000,
     .discount_bp = 9800,
     .points_multiplier_bp = 12000},
    {.name = "金卡",
     .rank = 2,
     .threshold = 500000,
     .discount_bp = 9500,
     .points_multiplier_bp = 15000},
    {.name = "钻石",
     .rank = 3,
     .threshold = 2000000,
     .discount_bp = 9000,
     .points_multiplier_bp = 20000},
};

static uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static int demo_tx(pt_db *db, void *arg, pt_err *err)
{
	(void)arg;
	pt_arena *a = pt_arena_new();
	if (!a)
		return pt_err_oom(err);
	int64_t store_ids[DEMO_STORES];
	int64_t now = pt_clock_now_ms();
	int rc = 0;
	for (int i = 0; i < DEMO_STORES && rc == 0; i++) {
		pt_store s = {.code = demo_stores[i].code,
		              .name = demo_stores[i].name,
		              .address = demo_stores[i].address,
		              .phone = demo_stores[i].phone,
		              .created_at = now};
		rc = pt_repo_store_insert(db, a, &s, &store_ids[i], err);
	}
	int64_t base_tier = 0;
	for (size_t i = 0; i < sizeof(demo_tiers) / sizeof(demo_tiers[0]) && rc == 0; i++) {
		pt_tier t = demo_tiers[i];
		t.basis = "rolling_12m";
		t.created_at = t.updated_at = now;
		int64_t id;
		rc = pt_repo_tier_insert(db, a, &t, &id, err);
		if (i == 0)
			base_tier = id;
	}
	/* Card numbers and referral codes from a fixed seed too, so the demo is the same on
	 * every machine; a collision between two of them is astronomically unlikely and would
	 * fail the whole demo loudly rather than quietly differ. */
	uint64_t state = PT_DEMO_PEOPLE_SEED;
	for (uint32_t i = 0; i < PT_DEMO_PEOPLE_COUNT && rc == 0; i++) {
		pt_demo_person p;
		pt_demo_person_make(PT_DEMO_PEOPLE_SEED, i, DEMO_STORES, &p);
		char card[16], code[16];
		pt_member_codes_make(splitmix(&state), card, code);
		pt_member m = {.card_no = card,
		               .name = p.name,
		               .phone = p.phone,
		               .gender = p.gender,
		               .birthday = p.birthday,
		               .store_id = store_ids[p.home_store],
		               .referral_code = code,
		               .tags = "[]",
		               /* Joined over the two years before the demo's half year of sales. */
		               .created_at = now - (int64_t)(183 + i % 547) * 86400000};
		int64_t id;
		rc = pt_repo_member_insert(db, a, &m, &id, err);
		if (i % 256 == 255) { /* keep the arena small over ten thousand rows */
			pt_arena_free(a);
			a = pt_arena_new();
			if (!a)
				return pt_err_oom(err);
		}
	}
	pt_arena_free(a);
	return rc ? rc : pt_repo_tier_assign_all(db, base_tier, now, err);
}

static int demo_business_tx(pt_db *db, void *arg, pt_err *err)
{
	(void)arg;
	return pt_svc_demo_business(db, err);
}

int pt_svc_demo_create(pt_db *db, pt_err *err)
{
	/* Two transactions: the people first, then the months of trading in one more, so a
	 * few thousand orders cost one commit rather than one each. */
	return pt_db_tx(db, true, demo_tx, NULL, err) ||
	       pt_db_tx(db, true, demo_business_tx, NULL, err);
}

int pt_svc_check(pt_db *db, FILE *out, long *problems, pt_err *err)
{
	pt_arena *a = pt_arena_new();
	if (!a)
		return pt_err_oom(err);
	*problems = 0;
	int version, latest;
	int64_t bad_members = 0;
	int rc = pt_repo_schema_version(db, a, &version, &latest, err);
	if (rc == 0 && version != latest) {
		fprintf(out, "schema: version %d, this program expects %d (run patron migrate)\n",
		        version, latest);
		(*problems)++;
	}
	if (rc == 0)
		rc = pt_repo_check_members(db, a, &bad_members, err);
	if (rc == 0 && bad_members) {
		fprintf(out,
		        "members: %lld rows are half-erased or miss a name, phone, card number or "
		        "referral code\n",
		        (long long)bad_members);
		*problems += bad_members;
	}
	int64_t unreadable = 0;
	if (rc == 0 && pt_keys_loaded())
		rc = pt_repo_check_pii(db, a, &unreadable, err);
	if (rc == 0 && unreadable) {
		fprintf(
		    out,
		    "members: the key file cannot open %lld of the first members' personal data "
		    "(a key file of another database?)\n",
		    (long long)unreadable);
		*problems += unreadable;
	}
	pt_ledger_check lc;
	if (rc == 0)
		rc = pt_repo_check_ledger(db, a, &lc, err);
	if (rc == 0) {
		if (lc.unbalanced_transfers) {
			fprintf(out,
			        "ledger: %lld transfers do not sum to zero (e.g. transfer %lld)\n",
			        (long long)lc.unbalanced_transfers, (long long)lc.example_transfer);
			*problems += lc.unbalanced_transfers;
		}
		if (lc.wallet_mismatches) {
			fprintf(
			    out,
			    "ledger: %lld members' balances differ from the sum of their entries "
			    "(e.g. member %lld)\n",
			    (long long)lc.wallet_mismatches, (long long)lc.example_member);
			*problems += lc.wallet_mismatches;
		}
		if (lc.lot_mismatches) {
			fprintf(
			    out,
			    "ledger: %lld lots' remaining points do not match their moves or are "
			    "out of range (e.g. lot %lld)\n",
			    (long long)lc.lot_mismatches, (long long)lc.example_lot);
			*problems += lc.lot_mismatches;
		}
		if (lc.outstanding != lc.member_balances) {
			fprintf(out,
			        "ledger: outstanding points %lld differ from the sum of member "
			        "balances %lld\n",
			        (long long)lc.outstanding, (long long)lc.member_balances);
			(*problems)++;
		}
	}
	if (rc == 0)
		rc = pt_svc_audit_verify(db, out, problems, err);
	pt_arena_free(a);
	return rc;
}
