#include "core/demo_people.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Ages are counted against a fixed year, not the clock, so the demo set never changes. */
#define REF_YEAR 2026
#define AGE_MIN  16
#define AGE_MAX  80

/* The last eight digits of a phone are a permutation of index mod 10^8, split in two halves of
 * four digits for the Feistel network below. */
#define HALF           10000u
#define SUFFIX_SPACE   (HALF * HALF)
#define FEISTEL_ROUNDS 6

typedef struct {
	const char *s;
	uint32_t w;
} weighted;

/* Surnames with weights roughly proportional to their bearers, in units of 10,000 people
 * (after the 2020 census household-registration figures), so a demo member list looks like a
 * real one: many 王, 李 and 张, the occasional 欧阳 or 司马. The order does not matter. */
static const weighted surnames[] = {
    {"王", 10150},
    {"李", 10090},
    {"张", 9540},
    {"刘", 7210},
    {"陈", 6140},
    {"杨", 4620},
    {"黄", 3370},
    {"赵", 2860},
    {"吴", 2780},
    {"周", 2680},
    {"徐", 2020},
    {"孙", 1940},
    {"马", 1910},
    {"朱", 1810},
    {"胡", 1650},
    {"郭", 1580},
    {"何", 1430},
    {"林", 1410},
    {"高", 1420},
    {"罗", 1400},
    {"郑", 1250},
    {"梁", 1160},
    {"谢", 1000},
    {"宋", 930},
    {"唐", 890},
    {"许", 860},
    {"韩", 880},
    {"冯", 830},
    {"邓", 830},
    {"曹", 780},
    {"彭", 750},
    {"曾", 710},
    {"肖", 710},
    {"田", 660},
    {"董", 650},
    {"袁", 640},
    {"潘", 630},
    {"于", 610},
    {"蒋", 600},
    {"蔡", 590},
    {"余", 580},
    {"杜", 560},
    {"叶", 560},
    {"程", 550},
    {"苏", 530},
    {"魏", 530},
    {"吕", 510},
    {"丁", 500},
    {"任", 490},
    {"沈", 480},
    {"姚", 460},
    {"卢", 450},
    {"姜", 430},
    {"崔", 420},
    {"钟", 410},
    {"谭", 400},
    {"陆", 390},
    {"汪", 370},
    {"范", 360},
    {"金", 350},
    {"石", 350},
    {"廖", 340},
    {"贾", 330},
    {"夏", 320},
    {"韦", 310},
    {"付", 300},
    {"方", 300},
    {"白", 290},
    {"邹", 290},
    {"孟", 280},
    {"熊", 280},
    {"秦", 270},
    {"邱", 270},
    {"江", 260},
    {"尹", 250},
    {"薛", 240},
    {"闫", 240},
    {"段", 230},
    {"雷", 230},
    {"侯", 220},
    {"龙", 220},
    {"史", 210},
    {"陶", 200},
    {"黎", 200},
    {"贺", 200},
    {"顾", 190},
    {"毛", 190},
    {"郝", 190},
    {"龚", 180},
    {"邵", 180},
    {"万", 170},
    {"钱", 170},
    {"严", 160},
    {"覃", 160},
    {"武", 160},
    {"戴", 150},
    {"莫", 150},
    {"孔", 150},
    {"向", 140},
    {"汤", 140},
    /* Compound surnames are rare; 欧阳 is by far the most common of them. */
    {"欧阳", 110},
    {"上官", 8},
    {"司马", 6},
    {"诸葛", 6},
    {"东方", 5},
    {"慕容", 4},
};

/* Given names follow fashion, so they depend on the decade of birth: a 1950s 秀英 and a
 * 2000s 梓涵 both look right, the other way round they would not. Two-character names are put
 * together from a first and a second character of the same era and gender; the pools are
 * chosen so that every pairing reads as a real name, and pairing them gives a few hundred
 * names per era and gender, which keeps the same full name from coming up a dozen times in
 * one shop. */
enum { ERA_OLD, ERA_MID, ERA_YOUNG, ERA_COUNT }; /* born < 1970, 1970..1989, >= 1990 */
enum { G_MALE, G_FEMALE, G_COUNT };

typedef struct {
	const char *const *v;
	size_t n;
} name_list;

typedef struct {
	name_list first, second;
} name_pool;

#define LIST(a)                                                                                    \
	{                                                                                          \
		(a), ARRAY_LEN(a)                                                                  \
	}

/* Characters that mark a gender (强 伟 军 刚 勇 涛 鹏 杰 峰 龙 / 英 芳 娟 婷 燕 兰 梅 霞 丽 娜)
 * appear only in that gender's pools: the unit test relies on it to check consistency. */
static const char *const male_old_1[] = {
    "建", "国", "志", "卫", "振", "德", "永", "保", "学",
    "春", "长", "海", "金", "树", "文", "明", "庆",
};
static const char *const male_old_2[] = {
    "国", "华", "军", "平", "强", "明", "刚", "东", "民", "林", "生", "胜", "山", "成", "忠", "福",
};
static const char *const male_mid_1[] = {
    "海", "晓", "志", "俊", "文", "建", "立", "剑", "国", "振", "宏", "明", "家", "东", "小",
};
static const char *const male_mid_2[] = {
    "涛", "东", "明", "伟", "杰", "飞", "斌", "峰", "波",
    "超", "锋", "勇", "栋", "宇", "辉", "军", "龙",
};
static const char *const male_young_1[] = {
    "子", "浩", "宇", "俊", "梓", "皓", "博", "天", "明",
    "家", "一", "奕", "铭", "煜", "锦", "泽", "睿", "嘉",
};
static const char *const male_young_2[] = {
    "轩", "然", "熙", "睿", "航", "佑", "豪", "鸣", "辰", "泽", "程", "博", "杰", "阳", "宇",
};
static const char *const female_old_1[] = {
    "秀", "桂", "玉", "淑", "凤", "美", "素", "翠", "金", "丽", "春", "月", "彩", "兰", "爱",
};
static const char *const female_old_2[] = {
    "英", "兰", "珍", "芳", "梅", "华", "云", "香", "琴", "荣", "霞", "花", "凤", "莲", "娥", "芬",
};
static const char *const female_mid_1[] = {
    "丽", "海", "晓", "美", "雅", "艳", "春", "红", "小", "雪", "慧", "玉", "佳", "彩", "巧", "秀",
};
static const char *const female_mid_2[] = {
    "娟", "燕", "玲", "琴", "萍", "红", "梅", "丽", "霞", "敏", "洁", "芳", "静", "莉", "丹", "娜",
};
static const char *const female_young_1[] = {
    "欣", "梓", "诗", "雨", "可", "思", "梦", "佳", "紫",
    "语", "若", "子", "雅", "心", "静", "馨", "芷", "安",
};
static const char *const female_young_2[] = {
    "怡", "涵", "萱", "琪", "桐", "妍", "欣", "婷", "瑶", "彤", "悦", "琳", "蕊", "月", "雯", "颖",
};
/* Modern whole names that parents give to sons and daughters alike. */
static const char *const neutral_young[] = {
    "子涵", "一诺", "思远", "安然", "欣然", "子墨", "晨曦",
    "嘉乐", "佳宁", "思源", "雨辰", "晓晨", "明远", "天一",
};

static const char *const male_single[] = {
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "辉", "鹏", "飞", "鑫",
    "波", "浩", "凯", "健", "俊", "帅", "旭", "峰", "亮", "毅", "昊", "彬", "虎", "锋", "龙",
};
static const char *const female_single[] = {
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "琳", "颖", "倩",
    "洁", "慧", "莉", "萍", "红", "梅", "琴", "蕾", "薇", "晶", "丹", "璐", "瑶", "妍", "媛",
};
static const char *const neutral_single[] = {
    "华", "平", "宁", "晨", "文", "洋", "凡", "然",
};

#define POOL(a, b)                                                                                 \
	{                                                                                          \
		LIST(a), LIST(b)                                                                   \
	}

static const name_pool given_double[ERA_COUNT][G_COUNT] = {
    [ERA_OLD] =
        {
            [G_MALE] = POOL(male_old_1, male_old_2),
            [G_FEMALE] = POOL(female_old_1, female_old_2),
        },
    [ERA_MID] =
        {
            [G_MALE] = POOL(male_mid_1, male_mid_2),
            [G_FEMALE] = POOL(female_mid_1, female_mid_2),
        },
    [ERA_YOUNG] =
        {
            [G_MALE] = POOL(male_young_1, male_young_2),
            [G_FEMALE] = POOL(female_young_1, female_young_2),
        },
};
static const name_list given_single[G_COUNT] = {
    [G_MALE] = LIST(male_single),
    [G_FEMALE] = LIST(female_single),
};

/* One-character given names were common from the 1960s to the 1990s and are rarer since. */
static const uint32_t single_percent[ERA_COUNT] = {20, 30, 10};
#define NEUTRAL_PERCENT 5

/* Mobile prefixes in use on the mainland (China Mobile, Unicom, Telecom, Broadnet), weighted
 * so that the older 13x and 18x ranges, which hold most subscribers, come up more often. */
static const weighted phone_prefixes[] = {
    {"130", 3}, {"131", 3}, {"132", 3}, {"133", 3}, {"134", 3}, {"135", 3}, {"136", 3}, {"137", 3},
    {"138", 3}, {"139", 3}, {"150", 2}, {"151", 2}, {"152", 2}, {"153", 2}, {"155", 2}, {"156", 2},
    {"157", 2}, {"158", 2}, {"159", 2}, {"173", 1}, {"175", 1}, {"176", 1}, {"177", 1}, {"178", 1},
    {"180", 3}, {"181", 3}, {"182", 3}, {"183", 3}, {"184", 1}, {"185", 3}, {"186", 3}, {"187", 3},
    {"188", 3}, {"189", 3}, {"190", 1}, {"191", 1}, {"192", 1}, {"193", 1}, {"195", 1}, {"196", 1},
    {"197", 1}, {"198", 1}, {"199", 1},
};

/* Members of a shop are mostly working-age adults; teenagers and the very old are fewer.
 * Each band is {first age, last age, weight}. */
static const struct {
	int lo, hi;
	uint32_t w;
} age_bands[] = {
    {16, 19, 5}, {20, 24, 10}, {25, 29, 14}, {30, 34, 15}, {35, 39, 14}, {40, 44, 11}, {45, 49, 9},
    {50, 54, 8}, {55, 59, 6},  {60, 64, 4},  {65, 69, 2},  {70, 74, 1},  {75, 80, 1},
};

/* splitmix64 (Steele, Lea, Flood 2014): a bijective 64-bit mixer and a tiny generator that
 * needs no more state than one word, so every person can have a stream of their own. */
static uint64_t pt_demo__mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)

static uint64_t pt_demo__next(uint64_t *state)
{
	*state += GOLDEN;
	return pt_demo__mix(*state);
}

/* A number in [0, n). The multiply-shift maps 32 random bits onto the range with a bias below
 * n / 2^32 — invisible in demo data, and unlike rejection sampling it never loops. */
static uint32_t pt_demo__below(uint64_t *state, uint32_t n)
{
	return (uint32_t)(((pt_demo__next(state) >> 32) * n) >> 32);
}

/* An index into a table of structs whose uint32_t weight sits at w, stride bytes apart, so the
 * three differently shaped weighted tables share one picker. A linear walk is plenty for a
 * hundred entries and ten thousand people. */
static size_t pt_demo__pick_weighted(uint64_t *state, const uint32_t *w, size_t stride, size_t n)
{
	uint32_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += *(const uint32_t *)((const char *)w + i * stride);
	uint32_t r = pt_demo__below(state, total);
	for (size_t i = 0; i < n; i++) {
		uint32_t wi = *(const uint32_t *)((const char *)w + i * stride);
		if (r < wi)
			return i;
		r -= wi;
	}
	return n - 1; /* unreachable: r < total */
}

#define PICK_WEIGHTED(state, table)                                                                \
	pt_demo__pick_weighted((state), &(table)[0].w, sizeof((table)[0]), ARRAY_LEN(table))

static const char *pt_demo__pick(uint64_t *state, name_list l)
{
	return l.v[pt_demo__below(state, (uint32_t)l.n)];
}

static int pt_demo__leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void pt_demo__put_digits(char *dst, uint32_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		dst[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* A balanced Feistel network on two base-10^4 halves: each round is invertible whatever the
 * round function, so the whole is a bijection of [0, 10^8) with no cycle-walking or retries.
 * Keys come from the seed, so each seed deals phone numbers in a different order. */
static uint32_t pt_demo__permute(uint64_t seed, uint32_t x)
{
	uint64_t ks = pt_demo__mix(seed ^ UINT64_C(0x70686f6e65)); /* "phone": apart from people */
	uint32_t l = x / HALF, r = x % HALF;
	for (int i = 0; i < FEISTEL_ROUNDS; i++) {
		uint64_t k = pt_demo__next(&ks);
		uint32_t f = (uint32_t)(pt_demo__mix(k ^ r) % HALF);
		uint32_t nr = (l + f) % HALF;
		l = r;
		r = nr;
	}
	return l * HALF + r;
}

static void pt_demo__phone(uint64_t seed, uint32_t index, uint64_t *state, char out[16])
{
	const char *prefix = phone_prefixes[PICK_WEIGHTED(state, phone_prefixes)].s;
	memcpy(out, prefix, 3);
	pt_demo__put_digits(out + 3, pt_demo__permute(seed, index % SUFFIX_SPACE), 8);
	out[11] = '\0';
}

/* Picks the age band, then a day uniformly within the birth year, so leap years get their
 * Feb 29 and no other year does. Returns the birth year. */
static int pt_demo__birthday(uint64_t *state, char out[11])
{
	static const int mlen[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t b = PICK_WEIGHTED(state, age_bands);
	int age = age_bands[b].lo +
	          (int)pt_demo__below(state, (uint32_t)(age_bands[b].hi - age_bands[b].lo + 1));
	int y = REF_YEAR - age;
	int leap = pt_demo__leap(y);
	int doy = (int)pt_demo__below(state, (uint32_t)(365 + leap));
	int m = 0;
	while (doy >= mlen[m] + (m == 1 && leap)) {
		doy -= mlen[m] + (m == 1 && leap);
		m++;
	}
	pt_demo__put_digits(out, (uint32_t)y, 4);
	out[4] = '-';
	pt_demo__put_digits(out + 5, (uint32_t)(m + 1), 2);
	out[7] = '-';
	pt_demo__put_digits(out + 8, (uint32_t)(doy + 1), 2);
	out[10] = '\0';
	return y;
}

/* Appends src to the NUL-terminated dst of capacity cap; the lists are short enough that it
 * always fits, which the assert documents. */
static void pt_demo__append(char *dst, size_t cap, const char *src)
{
	size_t ld = strlen(dst), ls = strlen(src);
	assert(ld + ls < cap);
	(void)cap;
	memcpy(dst + ld, src, ls + 1);
}

static void pt_demo__name(uint64_t *state, int gender, int birth_year, char out[64])
{
	int era = birth_year < 1970 ? ERA_OLD : birth_year < 1990 ? ERA_MID : ERA_YOUNG;
	int single = pt_demo__below(state, 100) < single_percent[era];
	int neutral = pt_demo__below(state, 100) < NEUTRAL_PERCENT;

	out[0] = '\0';
	pt_demo__append(out, 64, surnames[PICK_WEIGHTED(state, surnames)].s);
	if (single) {
		name_list l = neutral ? (name_list)LIST(neutral_single) : given_single[gender];
		pt_demo__append(out, 64, pt_demo__pick(state, l));
	} else if (neutral && era == ERA_YOUNG) { /* older people rarely bear these modern names */
		pt_demo__append(out, 64, pt_demo__pick(state, (name_list)LIST(neutral_young)));
	} else {
		const name_pool *p = &given_double[era][gender];
		size_t i = pt_demo__below(state, (uint32_t)p->first.n);
		size_t j = pt_demo__below(state, (uint32_t)p->second.n);
		/* 国国 or 兰兰 would look like a typo: take the next second character instead,
		 * which needs no retry. */
		if (strcmp(p->first.v[i], p->second.v[j]) == 0)
			j = (j + 1) % p->second.n;
		pt_demo__append(out, 64, p->first.v[i]);
		pt_demo__append(out, 64, p->second.v[j]);
	}
}

void pt_demo_person_make(uint64_t seed, uint32_t index, int nstores, pt_demo_person *out)
{
	assert(out != NULL);
	assert(nstores >= 1);
	if (nstores < 1) /* keep release builds defined: everyone at store 0 */
		nstores = 1;

	memset(out, 0, sizeof(*out));
	/* Hashing seed and index gives each person an independent stream: person n can be made
	 * without making persons 0..n-1, and a change to one field's draws moves no one else. */
	uint64_t state = pt_demo__mix(pt_demo__mix(seed) ^ index);

	pt_demo__phone(seed, index, &state, out->phone);
	int gender = pt_demo__below(&state, 2) ? G_FEMALE : G_MALE;
	memcpy(out->gender, gender == G_MALE ? "male" : "female", gender == G_MALE ? 5 : 7);
	int year = pt_demo__birthday(&state, out->birthday);
	pt_demo__name(&state, gender, year, out->name);
	out->home_store = (int)pt_demo__below(&state, (uint32_t)nstores);
}
