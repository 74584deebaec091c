/*-------------------------------------------------------------------------
 *
 * fuzz_headers.c
 *	  libFuzzer target for the response-header parsers (src/apiparse.c).
 *
 * The input becomes a NUL-terminated header value (the bytes up to the
 * first NUL; a header value cannot hold one).  Byte 0 also selects an
 * output size for the Link parser.  Checked properties:
 *	- mp_parse_ratelimit stores 0..max values, all >= 0, and a smaller max
 *	  gives a prefix of a larger one;
 *	- a value accepted by mp_parse_int_header is also a one-element rate
 *	  limit list with the same value;
 *	- mp_parse_link_rel only succeeds with a URI that fits, that appears as
 *	  "<uri>" in the input, and gives the same URI for every big-enough
 *	  output size; on failure the output is empty; with no output buffer
 *	  it reports presence exactly when a big buffer would succeed;
 *	- mp_ratelimit_wait_until returns the latest future reset of an exhausted
 *	  bucket, or 0.
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * test/fuzz/fuzz_headers.c
 *
 *-------------------------------------------------------------------------
 */
#include "apiparse.h"

#include <stdlib.h>
#include <string.h>

static void
check_ratelimit(const char *s)
{
	int64_t		v8[8];
	int64_t		v2[2];
	int			n8 = mp_parse_ratelimit(s, v8, 8);
	int			n2 = mp_parse_ratelimit(s, v2, 2);
	int			i;
	int64_t		v;

	if (n8 < 0 || n8 > 8 || n2 < 0 || n2 > 2)
		abort();
	if (n2 != (n8 < 2 ? n8 : 2))
		abort();
	for (i = 0; i < n8; i++)
		if (v8[i] < 0 || (i < n2 && v8[i] != v2[i]))
			abort();
	if (mp_parse_ratelimit(s, v8, 0) != 0)
		abort();

	if (mp_parse_int_header(s, &v))
	{
		int64_t		one[1];

		if (v < 0 || mp_parse_ratelimit(s, one, 1) != 1 || one[0] != v)
			abort();
		if (n8 != 1)
			abort();
	}

	/* wait_until: remaining = the list, reset = the list rotated by one */
	if (n8 > 0)
	{
		int64_t		reset[8];
		int64_t		now = v8[0] / 2;
		int64_t		expect = 0;
		int64_t		w;

		for (i = 0; i < n8; i++)
			reset[i] = v8[(i + 1) % n8];
		for (i = 0; i < n8; i++)
			if (v8[i] <= 0 && reset[i] > now && reset[i] > expect)
				expect = reset[i];
		w = mp_ratelimit_wait_until(v8, reset, n8, now);
		if (w != expect || (w != 0 && w <= now))
			abort();
	}
}

static void
check_link(const char *s, size_t slen, const char *rel, size_t small)
{
	char	   *big = malloc(slen + 1);
	char	   *tiny = malloc(small + 1);
	char	   *needle;
	bool		ok_big = mp_parse_link_rel(s, rel, big, slen + 1);
	bool		ok_tiny = mp_parse_link_rel(s, rel, tiny, small);
	size_t		ulen;

	if (small > 0 && !ok_tiny && tiny[0] != '\0')
		abort();
	if (mp_parse_link_rel(s, rel, NULL, 0) != ok_big)
		abort();
	if (!ok_big)
	{
		/* the URI is a substring of s, so slen + 1 is always enough */
		if (big[0] != '\0' || ok_tiny)
			abort();
		free(big);
		free(tiny);
		return;
	}
	ulen = strlen(big);
	if (ulen > slen)
		abort();
	needle = malloc(ulen + 3);
	needle[0] = '<';
	memcpy(needle + 1, big, ulen);
	needle[ulen + 1] = '>';
	needle[ulen + 2] = '\0';
	if (strstr(s, needle) == NULL)
		abort();
	free(needle);
	/* fits in "small" exactly when ulen + 1 <= small */
	if (ok_tiny != (ulen + 1 <= small))
		abort();
	if (ok_tiny && strcmp(tiny, big) != 0)
		abort();
	free(big);
	free(tiny);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *rels[] = {"next", "last", "prev", "first", "NEXT", "x"};
	char	   *s;
	size_t		slen;
	size_t		small;
	size_t		i;

	if (size < 1)
		return 0;
	small = data[0] % 48;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	slen = strlen(s);

	check_ratelimit(s);
	for (i = 0; i < sizeof(rels) / sizeof(rels[0]); i++)
		check_link(s, slen, rels[i], small);

	/* a rel taken from the input itself: its first word */
	{
		char		rel[16];
		size_t		k = 0;

		while (k < sizeof(rel) - 1 && s[k] && s[k] != ' ')
		{
			rel[k] = s[k];
			k++;
		}
		rel[k] = '\0';
		check_link(s, slen, rel, small);
	}
	free(s);
	return 0;
}
