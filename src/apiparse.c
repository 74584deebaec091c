/*-------------------------------------------------------------------------
 *
 * apiparse.c
 *	  Parsers for MangoPay response headers (see apiparse.h).
 *
 * Small hand-written scanners over NUL-terminated strings: no allocation,
 * no locale-dependent functions (isspace, strtoll and strcasecmp all depend
 * on the locale or on POSIX), no reads past the terminating NUL.
 *
 * src/apiparse.c
 *
 *-------------------------------------------------------------------------
 */
#include "apiparse.h"

#include <string.h>

/* Optional white space of HTTP (RFC 9110): space and horizontal tab */
#define IS_OWS(c)	((c) == ' ' || (c) == '\t')
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

/*
 * skip_ows
 *		Return s advanced past any spaces and tabs.
 */
static const char *
skip_ows(const char *s)
{
	while (IS_OWS(*s))
		s++;
	return s;
}

/*
 * scan_uint
 *		Parse the digits at *sp as a non-negative int64_t.
 *
 * Returns false if there is no digit or the value overflows; on success
 * *sp is moved past the digits.
 */
static bool
scan_uint(const char **sp, int64_t *out)
{
	const char *s = *sp;
	int64_t		v = 0;

	if (!IS_DIGIT(*s))
		return false;
	while (IS_DIGIT(*s))
	{
		int			d = *s - '0';

		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		s++;
	}
	*sp = s;
	*out = v;
	return true;
}

/*
 * ascii_lower
 *		Locale-independent ASCII lower-casing of one byte.
 */
static unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c - 'A' + 'a') : c;
}

/*
 * mp_parse_ratelimit
 *		Parse an X-RateLimit* header into up to max integers.
 */
int
mp_parse_ratelimit(const char *value, int64_t *out, int max)
{
	const char *s = value;
	int			n = 0;

	if (value == NULL || out == NULL || max <= 0)
		return 0;
	while (n < max)
	{
		int64_t		v;

		s = skip_ows(s);
		if (!scan_uint(&s, &v))
			break;
		s = skip_ows(s);
		if (*s != ',' && *s != '\0')
			break;				/* trailing garbage: element rejected */
		out[n++] = v;
		if (*s == '\0')
			break;
		s++;					/* past the comma */
	}
	return n;
}

/*
 * mp_parse_int_header
 *		Parse a strict non-negative integer header value.
 */
bool
mp_parse_int_header(const char *value, int64_t *out)
{
	const char *s;
	int64_t		v;

	if (value == NULL || out == NULL)
		return false;
	s = skip_ows(value);
	if (!scan_uint(&s, &v))
		return false;
	s = skip_ows(s);
	if (*s != '\0')
		return false;
	*out = v;
	return true;
}

/*
 * mp_ratelimit_wait_until
 *		The latest future reset time among exhausted buckets, or 0.
 */
int64_t
mp_ratelimit_wait_until(const int64_t *remaining, const int64_t *reset,
						int n, int64_t now)
{
	int64_t		until = 0;
	int			i;

	if (remaining == NULL || reset == NULL)
		return 0;
	for (i = 0; i < n; i++)
	{
		if (remaining[i] <= 0 && reset[i] > now && reset[i] > until)
			until = reset[i];
	}
	return until;
}

/*
 * is_tchar
 *		A "token" character of HTTP (RFC 9110 section 5.6.2).
 */
static bool
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IS_DIGIT(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * skip_link_value
 *		Skip the rest of a malformed link-value: up to the next comma that
 *		is outside <...> and outside a quoted string.
 */
static const char *
skip_link_value(const char *s)
{
	bool		in_quote = false;
	bool		in_angle = false;

	for (; *s; s++)
	{
		if (in_quote)
		{
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '"')
				in_quote = false;
		}
		else if (in_angle)
		{
			if (*s == '>')
				in_angle = false;
		}
		else if (*s == '"')
			in_quote = true;
		else if (*s == '<')
			in_angle = true;
		else if (*s == ',')
			break;
	}
	return s;
}

/*
 * rel_list_contains
 *		Whether the white-space separated list v[0..vlen) contains rel,
 *		ignoring ASCII case.  In a quoted-string, backslash escapes the
 *		next character.
 */
static bool
rel_list_contains(const char *v, size_t vlen, bool quoted, const char *rel)
{
	size_t		i = 0;

	if (rel[0] == '\0')
		return false;
	while (i < vlen)
	{
		size_t		k = 0;		/* characters of rel matched */
		bool		same = true;
		size_t		toklen = 0;

		while (i < vlen && (IS_OWS(v[i]) || v[i] == '\r' || v[i] == '\n'))
			i++;
		while (i < vlen && !(IS_OWS(v[i]) || v[i] == '\r' || v[i] == '\n'))
		{
			unsigned char c = (unsigned char) v[i];

			if (quoted && c == '\\' && i + 1 < vlen)
				c = (unsigned char) v[++i];
			i++;
			toklen++;
			if (same)
			{
				if (rel[k] != '\0' &&
					ascii_lower(c) == ascii_lower((unsigned char) rel[k]))
					k++;
				else
					same = false;
			}
		}
		if (toklen > 0 && same && rel[k] == '\0')
			return true;
	}
	return false;
}

/*
 * mp_parse_link_rel
 *		Extract the URI of the first link with relation type rel.
 */
bool
mp_parse_link_rel(const char *value, const char *rel, char *out, size_t outsz)
{
	const char *s = value;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (value == NULL || rel == NULL || (out != NULL && outsz == 0))
		return false;

	for (;;)
	{
		const char *uri;
		size_t		urilen;
		bool		seen_rel = false;
		bool		matched = false;

		/* between link-values: white space and (empty) list elements */
		while (IS_OWS(*s) || *s == ',')
			s++;
		if (*s == '\0')
			return false;
		if (*s != '<')
		{
			s = skip_link_value(s);
			continue;
		}
		uri = s + 1;
		s = strchr(uri, '>');
		if (s == NULL)
			return false;		/* unterminated <...>: nothing more to find */
		urilen = (size_t) (s - uri);
		s++;

		/* link-params: *( OWS ";" OWS name [ OWS "=" OWS value ] ) */
		for (;;)
		{
			const char *name;
			size_t		namelen;
			const char *val = NULL;
			size_t		vallen = 0;
			bool		quoted = false;

			s = skip_ows(s);
			if (*s == ',' || *s == '\0')
				break;
			if (*s != ';')
			{
				s = skip_link_value(s);
				break;
			}
			s = skip_ows(s + 1);
			name = s;
			while (is_tchar((unsigned char) *s))
				s++;
			namelen = (size_t) (s - name);
			if (namelen == 0)
			{
				if (*s == ';')
					continue;	/* tolerate an empty parameter (";;") */
				s = skip_link_value(s);
				break;
			}
			s = skip_ows(s);
			if (*s == '=')
			{
				s = skip_ows(s + 1);
				if (*s == '"')
				{
					quoted = true;
					val = ++s;
					while (*s && *s != '"')
					{
						if (*s == '\\' && s[1] != '\0')
							s++;
						s++;
					}
					vallen = (size_t) (s - val);
					if (*s == '"')
						s++;
				}
				else
				{
					val = s;
					while (*s && !IS_OWS(*s) && *s != ';' && *s != ',' && *s != '"')
						s++;
					vallen = (size_t) (s - val);
				}
			}

			/* only the first rel parameter counts (RFC 8288 section 3.3) */
			if (namelen == 3 && !seen_rel &&
				ascii_lower((unsigned char) name[0]) == 'r' &&
				ascii_lower((unsigned char) name[1]) == 'e' &&
				ascii_lower((unsigned char) name[2]) == 'l')
			{
				seen_rel = true;
				if (val != NULL)
					matched = rel_list_contains(val, vallen, quoted, rel);
			}
		}

		if (matched)
		{
			if (out == NULL)
				return true;	/* only asked whether the link exists */
			if (urilen + 1 > outsz)
				return false;
			memcpy(out, uri, urilen);
			out[urilen] = '\0';
			return true;
		}
	}
}
