/*-------------------------------------------------------------------------
 * options.c
 *		Every option of mangopay_fdw's SQL contract: where it may appear,
 *		how its value is checked, and the effective settings of a scan.
 *
 * The validator is table driven (as in postgres_fdw and oracle_fdw): one
 * row per (option, catalog).  Options that decide where the backend
 * connects (api_url, ca_file) are superuser-only, and secrets (api_key,
 * client_id) live only in user mappings so that pg_user_mappings masks
 * them for other roles.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include <ctype.h>

#include "access/reloptions.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(mangopay_fdw_validator);

typedef enum MpOptKind
{
	OPT_TEXT,
	OPT_INT,
	OPT_BOOL,
	OPT_ENV,
	OPT_SCA,
	OPT_URL,
	OPT_RESOURCE
} MpOptKind;

typedef struct MpOption
{
	const char *name;
	Oid			context;		/* catalog the option belongs to */
	MpOptKind	kind;
	int			min;
	int			max;
	bool		superuser_only;
	bool		secret;
} MpOption;

static const MpOption mp_options[] = {
	{"environment", ForeignServerRelationId, OPT_ENV, 0, 0, false, false},
	{"api_url", ForeignServerRelationId, OPT_URL, 0, 0, true, false},
	{"ca_file", ForeignServerRelationId, OPT_TEXT, 0, 0, true, false},
	{"connect_timeout_ms", ForeignServerRelationId, OPT_INT, 1, 3600000, false, false},
	{"request_timeout_ms", ForeignServerRelationId, OPT_INT, 1, 86400000, false, false},
	{"max_retries", ForeignServerRelationId, OPT_INT, 0, 100, false, false},
	{"page_size", ForeignServerRelationId, OPT_INT, 1, 100, false, false},
	{"max_concurrency", ForeignServerRelationId, OPT_INT, 1, 64, false, false},
	{"report_poll_ms", ForeignServerRelationId, OPT_INT, 1, 600000, false, false},
	{"report_timeout_s", ForeignServerRelationId, OPT_INT, 1, 604800, false, false},
	{"report_max_age_s", ForeignServerRelationId, OPT_INT, 0, 2678400, false, false},
	{"max_lookups", ForeignServerRelationId, OPT_INT, 0, 10000000, false, false},
	{"use_remote_estimate", ForeignServerRelationId, OPT_BOOL, 0, 0, false, false},
	{"rate_reserve_pct", ForeignServerRelationId, OPT_INT, 0, 90, false, false},
	{"async_capable", ForeignServerRelationId, OPT_BOOL, 0, 0, false, false},
	{"sca_context", ForeignServerRelationId, OPT_SCA, 0, 0, false, false},
	{"client_id", UserMappingRelationId, OPT_TEXT, 0, 0, false, false},
	{"api_key", UserMappingRelationId, OPT_TEXT, 0, 0, false, true},
	{"resource", ForeignTableRelationId, OPT_RESOURCE, 0, 0, false, false},
	{"async_capable", ForeignTableRelationId, OPT_BOOL, 0, 0, false, false},
	{"field", AttributeRelationId, OPT_TEXT, 0, 0, false, false},
	{NULL, InvalidOid, OPT_TEXT, 0, 0, false, false}
};

static const char *
catalog_name(Oid context)
{
	switch (context)
	{
		case ForeignServerRelationId:
			return "server";
		case UserMappingRelationId:
			return "user mapping";
		case ForeignTableRelationId:
			return "foreign table";
		case AttributeRelationId:
			return "column";
		case ForeignDataWrapperRelationId:
			return "foreign-data wrapper";
	}
	return "object";
}

static const MpOption *
find_option(const char *name)
{
	for (const MpOption *o = mp_options; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* an option of that name in that catalog, else the first of that name */
static const MpOption *
find_option_in(const char *name, Oid context)
{
	for (const MpOption *o = mp_options; o->name; o++)
		if (strcmp(o->name, name) == 0 && o->context == context)
			return o;
	return find_option(name);
}

/* "a, b, c": the options valid in one catalog, for a HINT */
static char *
valid_options_in(Oid context)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const MpOption *o = mp_options; o->name; o++)
	{
		if (o->context != context)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, o->name);
	}
	return buf.data;
}

/*
 * Parse "scheme://host[:port]/..." far enough to know the scheme and host.
 * Returns false when the text is not an http(s) URL we could use.
 */
static bool
split_url(const char *url, bool *is_http, char *host, size_t hostsz)
{
	const char *p;
	const char *h;
	size_t		n;

	if (pg_strncasecmp(url, "https://", 8) == 0)
	{
		*is_http = false;
		p = url + 8;
	}
	else if (pg_strncasecmp(url, "http://", 7) == 0)
	{
		*is_http = true;
		p = url + 7;
	}
	else
		return false;

	/* no userinfo: credentials never live in a URL */
	for (const char *q = p; *q && *q != '/' && *q != '?' && *q != '#'; q++)
		if (*q == '@')
			return false;

	if (*p == '[')
	{
		h = p + 1;
		n = strcspn(h, "]");
		if (h[n] != ']')
			return false;
	}
	else
	{
		h = p;
		n = strcspn(h, ":/?#");
	}
	if (n == 0 || n >= hostsz)
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	for (char *c = host; *c; c++)
	{
		if ((unsigned char) *c <= ' ' || *c == '\\' || *c == '%')
			return false;
		*c = tolower((unsigned char) *c);
	}
	return true;
}

static bool
host_is_loopback(const char *host)
{
	if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return true;
	/* 127.0.0.0/8, written as a dotted quad */
	if (strncmp(host, "127.", 4) == 0)
	{
		int			dots = 0;

		for (const char *c = host; *c; c++)
		{
			if (*c == '.')
				dots++;
			else if (!isdigit((unsigned char) *c))
				return false;
		}
		return dots == 3;
	}
	return false;
}

/*
 * An URL the backend may fetch: https anywhere, http only on loopback.
 */
bool
mp_url_is_acceptable(const char *url, bool *is_http)
{
	char		host[256];
	bool		http;

	if (!split_url(url, &http, host, sizeof(host)))
		return false;
	if (is_http)
		*is_http = http;
	return !http || host_is_loopback(host);
}

bool
mp_url_host_is_loopback(const char *url)
{
	char		host[256];
	bool		http;

	return split_url(url, &http, host, sizeof(host)) && host_is_loopback(host);
}

static int
parse_int_option(const DefElem *def, const MpOption *o)
{
	char	   *s = defGetString((DefElem *) def);
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	while (*end == ' ')
		end++;
	if (errno != 0 || end == s || *end != '\0' || v < o->min || v > o->max)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", o->name, s),
				 errhint("\"%s\" must be an integer from %d to %d.", o->name, o->min, o->max)));
	return (int) v;
}

static void
check_option_value(const DefElem *def, const MpOption *o)
{
	char	   *s = defGetString((DefElem *) def);

	switch (o->kind)
	{
		case OPT_INT:
			(void) parse_int_option(def, o);
			break;
		case OPT_BOOL:
			(void) defGetBoolean((DefElem *) def);
			break;
		case OPT_ENV:
			if (strcmp(s, "sandbox") != 0 && strcmp(s, "production") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"environment\": \"%s\"", s),
						 errhint("Valid values are \"sandbox\" and \"production\".")));
			break;
		case OPT_SCA:
			if (strcmp(s, "USER_NOT_PRESENT") != 0 && strcmp(s, "USER_PRESENT") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"sca_context\": \"%s\"", s),
						 errhint("Valid values are \"USER_NOT_PRESENT\" (a reader without the user, the default) and \"USER_PRESENT\".")));
			break;
		case OPT_URL:
			{
				bool		is_http = false;
				char		host[256];

				if (!split_url(s, &is_http, host, sizeof(host)))
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("invalid value for option \"api_url\": \"%s\"", s),
							 errhint("Give an https:// URL such as https://api.sandbox.mangopay.com, without credentials.")));
				if (is_http && !host_is_loopback(host))
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("option \"api_url\" must use https:// for host \"%s\"", host),
							 errhint("Plain http:// is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost).")));
				break;
			}
		case OPT_RESOURCE:
			if (mp_resource_by_name(s) == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("unknown MangoPay resource \"%s\"", s),
						 errhint("Valid resources are: %s.", mp_resource_names())));
			break;
		case OPT_TEXT:
			if (s[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"%s\" must not be empty", o->name)));
			break;
	}
}

/*
 * mangopay_fdw_validator(options text[], catalog oid)
 */
Datum
mangopay_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *lc;
	bool		has_client = false;
	bool		has_key = false;
	bool		has_resource = false;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const MpOption *o = find_option_in(def->defname, catalog);

		if (o == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\" for a mangopay_fdw %s", def->defname,
							catalog_name(catalog)),
					 catalog == ForeignDataWrapperRelationId ?
					 errhint("The foreign-data wrapper takes no options; set them on the server.") :
					 errhint("Valid options in this context are: %s.", valid_options_in(catalog))));

		if (o->context != catalog)
		{
			if (o->secret || strcmp(o->name, "client_id") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("option \"%s\" may only be set in a user mapping", o->name),
						 errhint("Use CREATE USER MAPPING ... SERVER ... OPTIONS (client_id '...', api_key '...'), so that other roles cannot read it.")));
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"%s\" belongs to a %s, not a %s", o->name,
							catalog_name(o->context), catalog_name(catalog)),
					 catalog == ForeignDataWrapperRelationId ?
					 errhint("The foreign-data wrapper takes no options; set them on the server.") :
					 errhint("Valid options in this context are: %s.", valid_options_in(catalog))));
		}

		if (o->superuser_only && !superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to set option \"%s\"", o->name),
					 errdetail("\"%s\" decides where the backend connects or whom it trusts.", o->name),
					 errhint("Only a superuser can set \"%s\".", o->name)));

		check_option_value(def, o);

		if (strcmp(o->name, "client_id") == 0)
			has_client = true;
		else if (strcmp(o->name, "api_key") == 0)
			has_key = true;
		else if (strcmp(o->name, "resource") == 0)
			has_resource = true;
	}

	if (catalog == UserMappingRelationId && (!has_client || !has_key))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("a mangopay_fdw user mapping needs both \"client_id\" and \"api_key\""),
				 errhint("Missing: %s.", !has_client && !has_key ? "client_id, api_key" :
						 !has_client ? "client_id" : "api_key")));
	if (catalog == ForeignTableRelationId && !has_resource)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("a mangopay_fdw foreign table needs the option \"resource\""),
				 errhint("Valid resources are: %s. IMPORT FOREIGN SCHEMA mangopay creates them all.",
						 mp_resource_names())));

	PG_RETURN_VOID();
}

static int
int_option(DefElem *def)
{
	const MpOption *o = find_option(def->defname);

	return parse_int_option(def, o);
}

/* server settings, with the contract's defaults */
MpSettings *
mp_get_server_settings(Oid serverid)
{
	ForeignServer *server = GetForeignServer(serverid);
	MpSettings *c = palloc0(sizeof(MpSettings));
	ListCell   *lc;
	const char *env = "sandbox";

	c->serverid = serverid;
	c->servername = pstrdup(server->servername);
	c->connect_timeout_ms = 10000;
	c->request_timeout_ms = 60000;
	c->max_retries = 5;
	c->page_size = 100;
	c->max_concurrency = 4;
	c->report_poll_ms = 1000;
	c->report_timeout_s = 900;
	c->report_max_age_s = 0;
	c->max_lookups = 1000;
	c->rate_reserve_pct = 10;
	c->async_capable = true;
	c->sca_context = "USER_NOT_PRESENT";

	foreach(lc, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "environment") == 0)
			env = defGetString(def);
		else if (strcmp(def->defname, "api_url") == 0)
			c->base_url = pstrdup(defGetString(def));
		else if (strcmp(def->defname, "ca_file") == 0)
			c->ca_file = pstrdup(defGetString(def));
		else if (strcmp(def->defname, "connect_timeout_ms") == 0)
			c->connect_timeout_ms = int_option(def);
		else if (strcmp(def->defname, "request_timeout_ms") == 0)
			c->request_timeout_ms = int_option(def);
		else if (strcmp(def->defname, "max_retries") == 0)
			c->max_retries = int_option(def);
		else if (strcmp(def->defname, "page_size") == 0)
			c->page_size = int_option(def);
		else if (strcmp(def->defname, "max_concurrency") == 0)
			c->max_concurrency = int_option(def);
		else if (strcmp(def->defname, "report_poll_ms") == 0)
			c->report_poll_ms = int_option(def);
		else if (strcmp(def->defname, "report_timeout_s") == 0)
			c->report_timeout_s = int_option(def);
		else if (strcmp(def->defname, "report_max_age_s") == 0)
			c->report_max_age_s = int_option(def);
		else if (strcmp(def->defname, "max_lookups") == 0)
			c->max_lookups = int_option(def);
		else if (strcmp(def->defname, "use_remote_estimate") == 0)
			c->use_remote_estimate = defGetBoolean(def);
		else if (strcmp(def->defname, "rate_reserve_pct") == 0)
			c->rate_reserve_pct = int_option(def);
		else if (strcmp(def->defname, "async_capable") == 0)
			c->async_capable = defGetBoolean(def);
		else if (strcmp(def->defname, "sca_context") == 0)
			c->sca_context = pstrdup(defGetString(def));
	}
	if (c->base_url == NULL)
		c->base_url = pstrdup(strcmp(env, "production") == 0 ?
							  "https://api.mangopay.com" :
							  "https://api.sandbox.mangopay.com");
	/* strip trailing slashes so paths can be appended */
	{
		size_t		n = strlen(c->base_url);

		while (n > 0 && c->base_url[n - 1] == '/')
			c->base_url[--n] = '\0';
	}
	return c;
}

/* server settings plus the user mapping's credentials */
MpSettings *
mp_get_settings(Oid serverid, Oid userid)
{
	MpSettings *c = mp_get_server_settings(serverid);
	UserMapping *um;
	ListCell   *lc;

	um = GetUserMapping(userid, serverid);	/* errors if there is none */
	c->umid = um->umid;
	c->userid = userid;
	foreach(lc, um->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "client_id") == 0)
			c->client_id = pstrdup(defGetString(def));
		else if (strcmp(def->defname, "api_key") == 0)
			c->api_key = pstrdup(defGetString(def));
	}
	if (c->client_id == NULL || c->api_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("user mapping for server \"%s\" has no %s", c->servername,
						c->client_id == NULL ? "client_id" : "api_key"),
				 errhint("ALTER USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS (ADD client_id '...', ADD api_key '...').",
						 quote_identifier(c->servername))));
	return c;
}

char *
mp_table_resource_name(Oid relid)
{
	ForeignTable *ft = GetForeignTable(relid);
	ListCell   *lc;

	foreach(lc, ft->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "resource") == 0)
			return defGetString(def);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("foreign table \"%s\" has no \"resource\" option", get_rel_name(relid))));
	return NULL;				/* keep compiler quiet */
}

char *
mp_column_field_option(Oid relid, AttrNumber attnum)
{
	List	   *opts = GetForeignColumnOptions(relid, attnum);
	ListCell   *lc;

	foreach(lc, opts)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "field") == 0)
			return defGetString(def);
	}
	return NULL;
}

/* the table's async_capable, else its server's (on by default) */
bool
mp_table_async_capable(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	ListCell   *lc;

	foreach(lc, table->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "async_capable") == 0)
			return defGetBoolean(def);
	}
	return mp_get_server_settings(table->serverid)->async_capable;
}
