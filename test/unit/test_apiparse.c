/*-------------------------------------------------------------------------
 *
 * test_apiparse.c
 *	  Unit tests for the response-header parsers (src/apiparse.c).
 *
 * test/unit/test_apiparse.c
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"
#include "apiparse.h"

/* ---------------------------------------------------------------------- */
/* mp_parse_ratelimit */

static void
test_rl_four_values(void)
{
	int64_t		v[8];

	CHECK_INT(mp_parse_ratelimit("1715241060, 1715241960, 1715243760, 1715326500", v, 8), 4);
	CHECK_INT(v[0], 1715241060);
	CHECK_INT(v[1], 1715241960);
	CHECK_INT(v[2], 1715243760);
	CHECK_INT(v[3], 1715326500);
}

static void
test_rl_three_values_no_spaces(void)
{
	int64_t		v[4];

	CHECK_INT(mp_parse_ratelimit("2300,4500,8800", v, 4), 3);
	CHECK_INT(v[0], 2300);
	CHECK_INT(v[2], 8800);
}

static void
test_rl_whitespace(void)
{
	int64_t		v[4];

	CHECK_INT(mp_parse_ratelimit("  1 ,\t2\t,3  ", v, 4), 3);
	CHECK_INT(v[0], 1);
	CHECK_INT(v[1], 2);
	CHECK_INT(v[2], 3);
}

static void
test_rl_more_than_max(void)
{
	int64_t		v[5] = {0, 0, 0, 0, -7};

	CHECK_INT(mp_parse_ratelimit("1,2,3,4,5,6", v, 4), 4);
	CHECK_INT(v[3], 4);
	CHECK_INT(v[4], -7);		/* untouched */
	CHECK_INT(mp_parse_ratelimit("1,2", v, 0), 0);
	CHECK_INT(mp_parse_ratelimit("1,2", v, -1), 0);
}

static void
test_rl_trailing_comma_and_garbage(void)
{
	int64_t		v[4];

	CHECK_INT(mp_parse_ratelimit("1, 2,", v, 4), 2);
	CHECK_INT(mp_parse_ratelimit("1, 2, x", v, 4), 2);
	CHECK_INT(mp_parse_ratelimit("1, 2x, 3", v, 4), 1);
	CHECK_INT(mp_parse_ratelimit("1,,2", v, 4), 1);
	CHECK_INT(mp_parse_ratelimit("1 2", v, 4), 0);
	CHECK_INT(mp_parse_ratelimit("1;2", v, 4), 0);
	CHECK_INT(v[0], 1);
}

static void
test_rl_negative_and_signs(void)
{
	int64_t		v[4];

	CHECK_INT(mp_parse_ratelimit("-1, 2", v, 4), 0);
	CHECK_INT(mp_parse_ratelimit("5, -2", v, 4), 1);
	CHECK_INT(mp_parse_ratelimit("+5", v, 4), 0);
	CHECK_INT(mp_parse_ratelimit("1.5, 2", v, 4), 0);
	CHECK_INT(mp_parse_ratelimit("0x10", v, 4), 0);
}

static void
test_rl_overflow(void)
{
	int64_t		v[4];

	CHECK_INT(mp_parse_ratelimit("9223372036854775807, 1", v, 4), 2);
	CHECK(v[0] == INT64_MAX);
	CHECK_INT(mp_parse_ratelimit("9223372036854775808", v, 4), 0);
	CHECK_INT(mp_parse_ratelimit("1, 99999999999999999999999", v, 4), 1);
	CHECK_INT(mp_parse_ratelimit("00000000000000000000000000042", v, 4), 1);
	CHECK_INT(v[0], 42);
}

static void
test_rl_empty_and_null(void)
{
	int64_t		v[4];

	CHECK_INT(mp_parse_ratelimit("", v, 4), 0);
	CHECK_INT(mp_parse_ratelimit("   ", v, 4), 0);
	CHECK_INT(mp_parse_ratelimit(",", v, 4), 0);
	CHECK_INT(mp_parse_ratelimit(NULL, v, 4), 0);
	CHECK_INT(mp_parse_ratelimit("1", NULL, 4), 0);
}

/* ---------------------------------------------------------------------- */
/* mp_parse_int_header */

static void
test_int_header_ok(void)
{
	int64_t		v = -1;

	CHECK(mp_parse_int_header("12", &v));
	CHECK_INT(v, 12);
	CHECK(mp_parse_int_header("  7 \t", &v));
	CHECK_INT(v, 7);
	CHECK(mp_parse_int_header("0", &v));
	CHECK_INT(v, 0);
	CHECK(mp_parse_int_header("007", &v));
	CHECK_INT(v, 7);
	CHECK(mp_parse_int_header("9223372036854775807", &v));
	CHECK(v == INT64_MAX);
}

static void
test_int_header_rejects(void)
{
	int64_t		v = 99;

	CHECK(!mp_parse_int_header("", &v));
	CHECK(!mp_parse_int_header("  ", &v));
	CHECK(!mp_parse_int_header("-1", &v));
	CHECK(!mp_parse_int_header("+1", &v));
	CHECK(!mp_parse_int_header("1 2", &v));
	CHECK(!mp_parse_int_header("12abc", &v));
	CHECK(!mp_parse_int_header("1.0", &v));
	CHECK(!mp_parse_int_header("1,2", &v));
	CHECK(!mp_parse_int_header("9223372036854775808", &v));
	CHECK(!mp_parse_int_header("\n1", &v));
	CHECK(!mp_parse_int_header(NULL, &v));
	CHECK(!mp_parse_int_header("1", NULL));
	CHECK_INT(v, 99);			/* untouched on failure */
}

/* ---------------------------------------------------------------------- */
/* mp_parse_link_rel */

#define LINK_MP "<https://api.mangopay.com/v2.01/cid/users?page=1&per_page=10>; rel=\"first\", " \
	"<https://api.mangopay.com/v2.01/cid/users?page=1&per_page=10>; rel=\"prev\", " \
	"<https://api.mangopay.com/v2.01/cid/users?page=3&per_page=10>; rel=\"next\", " \
	"<https://api.mangopay.com/v2.01/cid/users?page=9&per_page=10>; rel=\"last\""

static void
test_link_mangopay(void)
{
	char		out[256];

	CHECK(mp_parse_link_rel(LINK_MP, "next", out, sizeof(out)));
	CHECK_STR(out, "https://api.mangopay.com/v2.01/cid/users?page=3&per_page=10");
	CHECK(mp_parse_link_rel(LINK_MP, "last", out, sizeof(out)));
	CHECK_STR(out, "https://api.mangopay.com/v2.01/cid/users?page=9&per_page=10");
	CHECK(mp_parse_link_rel(LINK_MP, "first", out, sizeof(out)));
	CHECK_STR(out, "https://api.mangopay.com/v2.01/cid/users?page=1&per_page=10");
}

static void
test_link_missing_rel(void)
{
	char		out[64] = "junk";

	CHECK(!mp_parse_link_rel("<a>; rel=\"prev\", <b>; rel=\"last\"", "next", out, sizeof(out)));
	CHECK_STR(out, "");
	CHECK(!mp_parse_link_rel("", "next", out, sizeof(out)));
	CHECK(!mp_parse_link_rel("   ,  , ", "next", out, sizeof(out)));
	CHECK(!mp_parse_link_rel(NULL, "next", out, sizeof(out)));
	CHECK(!mp_parse_link_rel("<a>; rel=next", NULL, out, sizeof(out)));
	CHECK(!mp_parse_link_rel("<a>; rel=next", "", out, sizeof(out)));
	/* "nex" and "nextt" are not "next" */
	CHECK(!mp_parse_link_rel("<a>; rel=\"nex nextt\"", "next", out, sizeof(out)));
}

static void
test_link_unquoted_and_case(void)
{
	char		out[64];

	CHECK(mp_parse_link_rel("<a>; rel=prev, <b>; rel=next", "next", out, sizeof(out)));
	CHECK_STR(out, "b");
	CHECK(mp_parse_link_rel("<a>; REL=\"NeXt\"", "next", out, sizeof(out)));
	CHECK_STR(out, "a");
	CHECK(mp_parse_link_rel("<a>; rel=\"next\"", "NEXT", out, sizeof(out)));
	CHECK_STR(out, "a");
}

static void
test_link_multiple_rel_values(void)
{
	char		out[64];

	CHECK(mp_parse_link_rel("<p1>; rel=\"prev first\", <p9>; rel=\"next  last\"", "first", out, sizeof(out)));
	CHECK_STR(out, "p1");
	CHECK(mp_parse_link_rel("<p1>; rel=\"prev first\", <p9>; rel=\"next\tlast\"", "last", out, sizeof(out)));
	CHECK_STR(out, "p9");
	CHECK(mp_parse_link_rel("<p1>; rel=\" prev \"", "prev", out, sizeof(out)));
	CHECK_STR(out, "p1");
}

static void
test_link_commas_in_uri(void)
{
	char		out[128];

	CHECK(mp_parse_link_rel("<https://x/list?Status=SUCCEEDED,FAILED&page=2>; rel=\"next\", "
							"<https://x/list?Status=SUCCEEDED,FAILED&page=5>; rel=\"last\"",
							"last", out, sizeof(out)));
	CHECK_STR(out, "https://x/list?Status=SUCCEEDED,FAILED&page=5");
	CHECK(mp_parse_link_rel("<https://x/a;b=c,d>;rel=next", "next", out, sizeof(out)));
	CHECK_STR(out, "https://x/a;b=c,d");
}

static void
test_link_other_params(void)
{
	char		out[64];

	CHECK(mp_parse_link_rel("<a>; title=\"x, rel=next\"; rel=\"prev\", <b>; anchor=\"#z\"; rel=next",
							"next", out, sizeof(out)));
	CHECK_STR(out, "b");
	CHECK(mp_parse_link_rel("<a> ;rel = \"next\" ; type=\"text/html\"", "next", out, sizeof(out)));
	CHECK_STR(out, "a");
	CHECK(mp_parse_link_rel("<a>; hreflang=en;; rel=next", "next", out, sizeof(out)));
	CHECK_STR(out, "a");
	CHECK(mp_parse_link_rel("<a>; title=\"q\\\"uote, rel=next\"; rel=last", "last", out, sizeof(out)));
	CHECK_STR(out, "a");
}

static void
test_link_first_rel_param_only(void)
{
	char		out[64];

	CHECK(!mp_parse_link_rel("<a>; rel=prev; rel=next", "next", out, sizeof(out)));
	CHECK(mp_parse_link_rel("<a>; rel=prev; rel=next", "prev", out, sizeof(out)));
	CHECK(!mp_parse_link_rel("<a>; rel; rel=next", "next", out, sizeof(out)));
}

static void
test_link_escaped_rel(void)
{
	char		out[64];

	CHECK(mp_parse_link_rel("<a>; rel=\"n\\ext\"", "next", out, sizeof(out)));
	CHECK_STR(out, "a");
}

static void
test_link_out_too_small(void)
{
	char		out[8] = "junk";

	CHECK(!mp_parse_link_rel("<12345678>; rel=next", "next", out, sizeof(out)));
	CHECK_STR(out, "");
	CHECK(mp_parse_link_rel("<1234567>; rel=next", "next", out, sizeof(out)));
	CHECK_STR(out, "1234567");
	CHECK(!mp_parse_link_rel("<a>; rel=next", "next", out, 0));
	CHECK(mp_parse_link_rel("<>; rel=next", "next", out, 1));
	CHECK_STR(out, "");
}

static void
test_link_malformed(void)
{
	char		out[64];

	/* garbage before a valid link-value is skipped */
	CHECK(mp_parse_link_rel("garbage; rel=next, <b>; rel=next", "next", out, sizeof(out)));
	CHECK_STR(out, "b");
	CHECK(mp_parse_link_rel("\"quoted, junk\", <c>; rel=next", "next", out, sizeof(out)));
	CHECK_STR(out, "c");
	/* unterminated URI */
	CHECK(!mp_parse_link_rel("<a; rel=next", "next", out, sizeof(out)));
	/* junk after the URI: that link-value is dropped */
	CHECK(!mp_parse_link_rel("<a> junk; rel=next", "next", out, sizeof(out)));
	CHECK(mp_parse_link_rel("<a> junk; rel=next, <d>; rel=next", "next", out, sizeof(out)));
	CHECK_STR(out, "d");
	/* unterminated quoted value still counts */
	CHECK(mp_parse_link_rel("<e>; rel=\"next", "next", out, sizeof(out)));
	CHECK_STR(out, "e");
	/* rel without a value, empty value */
	CHECK(!mp_parse_link_rel("<a>; rel", "next", out, sizeof(out)));
	CHECK(!mp_parse_link_rel("<a>; rel=\"\"", "next", out, sizeof(out)));
	CHECK(!mp_parse_link_rel("<a>; =next", "next", out, sizeof(out)));
}

/* ---------------------------------------------------------------------- */
/* mp_ratelimit_wait_until */

static void
test_wait_none_exhausted(void)
{
	int64_t		rem[4] = {10, 20, 30, 40};
	int64_t		rst[4] = {1000, 2000, 3000, 4000};

	CHECK_INT(mp_ratelimit_wait_until(rem, rst, 4, 500), 0);
	CHECK_INT(mp_ratelimit_wait_until(rem, rst, 0, 500), 0);
	CHECK_INT(mp_ratelimit_wait_until(NULL, rst, 4, 500), 0);
}

static void
test_wait_one_exhausted(void)
{
	int64_t		rem[4] = {0, 20, 30, 40};
	int64_t		rst[4] = {1000, 2000, 3000, 4000};

	CHECK_INT(mp_ratelimit_wait_until(rem, rst, 4, 500), 1000);
}

static void
test_wait_latest_of_exhausted(void)
{
	int64_t		rem[4] = {0, 5, 0, 9};
	int64_t		rst[4] = {1000, 2000, 3000, 4000};

	CHECK_INT(mp_ratelimit_wait_until(rem, rst, 4, 500), 3000);
	/* only the first n buckets count */
	CHECK_INT(mp_ratelimit_wait_until(rem, rst, 2, 500), 1000);
}

static void
test_wait_reset_already_passed(void)
{
	int64_t		rem[3] = {0, 0, 7};
	int64_t		rst[3] = {400, 500, 4000};

	CHECK_INT(mp_ratelimit_wait_until(rem, rst, 3, 500), 0);
	CHECK_INT(mp_ratelimit_wait_until(rem, rst, 3, 450), 500);
}

static void
test_wait_negative_remaining(void)
{
	int64_t		rem[2] = {-3, 1};
	int64_t		rst[2] = {900, 1900};

	CHECK_INT(mp_ratelimit_wait_until(rem, rst, 2, 100), 900);
}

static void
test_wait_from_parsed_headers(void)
{
	int64_t		rem[4];
	int64_t		rst[4];
	int			n1 = mp_parse_ratelimit("2299, 0, 8799, 105599", rem, 4);
	int			n2 = mp_parse_ratelimit("1715241060, 1715241960, 1715243760, 1715326500", rst, 4);

	CHECK_INT(n1, 4);
	CHECK_INT(n2, 4);
	CHECK_INT(mp_ratelimit_wait_until(rem, rst, n1 < n2 ? n1 : n2, 1715241000), 1715241960);
}

static void
test_link_presence_only(void)
{
	CHECK(mp_parse_link_rel(LINK_MP, "next", NULL, 0));
	CHECK(mp_parse_link_rel(LINK_MP, "last", NULL, 5));
	CHECK(!mp_parse_link_rel("<a>; rel=prev", "next", NULL, 0));
	CHECK(!mp_parse_link_rel(NULL, "next", NULL, 0));
	CHECK(!mp_parse_link_rel(LINK_MP, NULL, NULL, 0));
}

const UtTest apiparse_tests[] = {
	{"rl_four_values", test_rl_four_values},
	{"rl_three_values_no_spaces", test_rl_three_values_no_spaces},
	{"rl_whitespace", test_rl_whitespace},
	{"rl_more_than_max", test_rl_more_than_max},
	{"rl_trailing_comma_and_garbage", test_rl_trailing_comma_and_garbage},
	{"rl_negative_and_signs", test_rl_negative_and_signs},
	{"rl_overflow", test_rl_overflow},
	{"rl_empty_and_null", test_rl_empty_and_null},
	{"int_header_ok", test_int_header_ok},
	{"int_header_rejects", test_int_header_rejects},
	{"link_mangopay", test_link_mangopay},
	{"link_missing_rel", test_link_missing_rel},
	{"link_unquoted_and_case", test_link_unquoted_and_case},
	{"link_multiple_rel_values", test_link_multiple_rel_values},
	{"link_commas_in_uri", test_link_commas_in_uri},
	{"link_other_params", test_link_other_params},
	{"link_first_rel_param_only", test_link_first_rel_param_only},
	{"link_escaped_rel", test_link_escaped_rel},
	{"link_out_too_small", test_link_out_too_small},
	{"link_malformed", test_link_malformed},
	{"link_presence_only", test_link_presence_only},
	{"wait_none_exhausted", test_wait_none_exhausted},
	{"wait_one_exhausted", test_wait_one_exhausted},
	{"wait_latest_of_exhausted", test_wait_latest_of_exhausted},
	{"wait_reset_already_passed", test_wait_reset_already_passed},
	{"wait_negative_remaining", test_wait_negative_remaining},
	{"wait_from_parsed_headers", test_wait_from_parsed_headers},
	{NULL, NULL}
};
