/*-------------------------------------------------------------------------
 * url.c
 *		The URLs of API requests (escaping, the {id} of a single-object
 *		path, base_url + version + ClientId) and the Idempotency-Key of a
 *		POST.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

/* ------------------------------------------------------------------------
 * URLs
 * ------------------------------------------------------------------------ */
char *
mp_url_escape(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~')
			appendStringInfoChar(&buf, (char) *p);
		else
			appendStringInfo(&buf, "%%%02X", *p);
	}
	return buf.data;
}

/* "/disputes/{id}" with the id, escaped, in place of {id} */
char *
mp_path_with_id(const char *tmpl, const char *id)
{
	const char *at = strstr(tmpl, "{id}");

	Assert(at != NULL);
	return psprintf("%.*s%s%s", (int) (at - tmpl), tmpl, mp_url_escape(id), at + 4);
}

/*
 * base_url + "/v2.01/{ClientId}" + path, or base_url + "/v2.01" + path for
 * the OAuth endpoint (which has no ClientId segment).
 */
char *
mp_api_url(MpSettings *conn, const char *path_and_query, bool with_client)
{
	if (with_client)
		return psprintf("%s/v2.01/%s%s", conn->base_url, mp_url_escape(conn->client_id),
						path_and_query);
	return psprintf("%s/v2.01%s", conn->base_url, path_and_query);
}

/*
 * A fresh Idempotency-Key into buf (MP_IDEM_KEY_LEN + 1 bytes): "mpfdw-" and
 * 30 hex digits, 36 characters (the API takes 16 to 36 of [A-Za-z0-9-]).
 */
void
mp_idempotency_key(char *buf)
{
	uint8		b[15];

	if (!pg_strong_random(b, sizeof(b)))
		for (int i = 0; i < (int) sizeof(b); i++)
			b[i] = (uint8) random();
	strcpy(buf, "mpfdw-");
	for (int i = 0; i < (int) sizeof(b); i++)
		snprintf(buf + 6 + 2 * i, 3, "%02x", b[i]);
}
