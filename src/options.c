/*-------------------------------------------------------------------------
 * options.c
 *		Every option of mangopay_fdw's SQL contract: where it may appear,
 *		how its value is checked, and the effective settings of a scan.
 *
 * The validator is table driven (as in postgres_fdw and oracle_fdw): one
 * row per (option, catalog).  Options that decide where the backend
 * connects or what it reads (api_url, ca_file, api_key_file) are
 * superuser-only: set, changed or dropped, checked once the object is
 * written, against its old options.  Secrets (api_key, client_id) live
 * only in user mappings so that pg_user_mappings masks them for other
 * roles; api_key_file keeps the key out of the catalog altogether.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(mangopay_fdw_validator);

/* the validator's own oid: tells our servers from other FDWs' */
static Oid	mp_validator_oid = InvalidOid;

/*
 * The catalog a validator call by a non-superuser was for, until the
 * object access hook has compared the superuser-only options of the object
 * written; a transaction never commits with a check left undone.
 */
static Oid	superuser_check_pending = InvalidOid;
static object_access_hook_type prev_object_access_hook = NULL;

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
	{"api_key_file", UserMappingRelationId, OPT_TEXT, 0, 0, true, true},
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

/*
 * A report's DownloadURL the backend may fetch: https only, http only on a
 * loopback host when the server's api_url is itself http on loopback (a
 * local mock or proxy).  An API on https never sends us to a plain-http
 * port of this machine.
 */
bool
mp_download_url_is_acceptable(const char *url, const char *api_url)
{
	char		host[256];
	bool		http;
	bool		api_http;

	if (!split_url(url, &http, host, sizeof(host)))
		return false;
	if (!http)
		return true;
	return host_is_loopback(host) && mp_url_is_acceptable(api_url, &api_http) &&
		api_http && mp_url_host_is_loopback(api_url);
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
	bool		has_key_file = false;
	bool		has_resource = false;

	/*
	 * Superuser-only options are checked once the server or user mapping is
	 * written (mp_object_access), where the old options can be compared with
	 * the new: this list alone cannot tell a kept api_url from a new one,
	 * nor show one that is dropped.
	 */
	mp_validator_oid = fcinfo->flinfo->fn_oid;
	/* a call from a query (fn_expr set) writes nothing: no check to wait for */
	if ((catalog == ForeignServerRelationId || catalog == UserMappingRelationId) && !superuser() &&
		fcinfo->flinfo->fn_expr == NULL)
		superuser_check_pending = catalog;

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

		check_option_value(def, o);

		if (strcmp(o->name, "client_id") == 0)
			has_client = true;
		else if (strcmp(o->name, "api_key") == 0)
			has_key = true;
		else if (strcmp(o->name, "api_key_file") == 0)
		{
			if (!is_absolute_path(defGetString(def)))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"api_key_file\" must be an absolute path"),
						 errhint("Name a file the PostgreSQL server's operating system user can read, such as /etc/mangopay_fdw/acme.key.")));
			has_key_file = true;
		}
		else if (strcmp(o->name, "resource") == 0)
			has_resource = true;
	}

	if (catalog == UserMappingRelationId && (!has_client || (!has_key && !has_key_file)))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("a mangopay_fdw user mapping needs both \"client_id\" and \"api_key\" (or \"api_key_file\")"),
				 errhint("Missing: %s.", !has_client && !has_key && !has_key_file ? "client_id, api_key" :
						 !has_client ? "client_id" : "api_key")));
	if (catalog == UserMappingRelationId && has_key && has_key_file)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("a mangopay_fdw user mapping takes \"api_key\" or \"api_key_file\", not both"),
				 errhint("Drop one: ALTER USER MAPPING ... OPTIONS (DROP api_key).")));
	if (catalog == ForeignTableRelationId && !has_resource)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("a mangopay_fdw foreign table needs the option \"resource\""),
				 errhint("Valid resources are: %s. IMPORT FOREIGN SCHEMA mangopay creates them all.",
						 mp_resource_names())));

	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * superuser-only options: set, changed, dropped
 *
 * After CREATE or ALTER of a server or user mapping (before the command
 * counter moves), the catalog snapshot still shows the old row and
 * SnapshotSelf the new one (objectaccess.h).  A role that is not superuser
 * may write such an object when every superuser-only option has the value
 * it had: so a server's owner changes page_size under a superuser's
 * api_url, but cannot set, change or drop api_url, ca_file or a mapping's
 * api_key_file.
 * ------------------------------------------------------------------------ */

/* the options of a server or user mapping as stored, seen by snapshot */
static List *
stored_options(Oid catalog, Oid objid, Snapshot snap, Oid *fdwid, bool *found)
{
	Relation	rel = table_open(catalog, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *opts = NIL;
	bool		is_server = (catalog == ForeignServerRelationId);

	*found = false;
	ScanKeyInit(&key, is_server ? Anum_pg_foreign_server_oid : Anum_pg_user_mapping_oid,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objid));
	scan = systable_beginscan(rel, is_server ? ForeignServerOidIndexId : UserMappingOidIndexId,
							  true, snap, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, is_server ? Anum_pg_foreign_server_srvoptions :
									 Anum_pg_user_mapping_umoptions,
									 RelationGetDescr(rel), &isnull);

		*found = true;
		if (!isnull)
			opts = untransformRelOptions(d);
		/* (a server created by this command is not in the syscache yet) */
		if (is_server)
			*fdwid = ((Form_pg_foreign_server) GETSTRUCT(tup))->srvfdw;
		else
			*fdwid = GetForeignServer(((Form_pg_user_mapping) GETSTRUCT(tup))->umserver)->fdwid;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return opts;
}

static const char *
option_value(List *opts, const char *name)
{
	ListCell   *lc;

	foreach(lc, opts)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return NULL;
}

static void
check_superuser_options(Oid catalog, Oid objid, bool created)
{
	Oid			fdwid = InvalidOid;
	Oid			oldfdw;
	bool		found;
	bool		old_found = false;
	List	   *now = stored_options(catalog, objid, SnapshotSelf, &fdwid, &found);
	List	   *before = NIL;

	if (!found)
		return;
	/* only the servers of a wrapper whose validator is ours */
	if (GetForeignDataWrapper(fdwid)->fdwvalidator != mp_validator_oid)
		return;
	if (!created)
		before = stored_options(catalog, objid, NULL, &oldfdw, &old_found);
	for (const MpOption *o = mp_options; o->name; o++)
	{
		const char *a;
		const char *b;

		if (!o->superuser_only || o->context != catalog)
			continue;
		a = old_found ? option_value(before, o->name) : NULL;
		b = option_value(now, o->name);
		if (a == NULL && b == NULL)
			continue;
		if (a != NULL && b != NULL && strcmp(a, b) == 0)
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s option \"%s\"", b == NULL ? "drop" : "set", o->name),
				 errdetail("\"%s\" decides where the backend connects, whom it trusts or which file it reads.",
						   o->name),
				 errhint("Only a superuser can set, change or drop \"%s\"; the other options stay the owner's.",
						 o->name)));
	}
	superuser_check_pending = InvalidOid;
}

static void
mp_object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if ((access != OAT_POST_CREATE && access != OAT_POST_ALTER) ||
		(classId != ForeignServerRelationId && classId != UserMappingRelationId) ||
		!OidIsValid(mp_validator_oid) || superuser())
		return;
	check_superuser_options(classId, objectId, access == OAT_POST_CREATE);
	if (superuser_check_pending == classId)
		superuser_check_pending = InvalidOid;
}

static void
mp_options_xact(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PARALLEL_PRE_COMMIT ||
		 event == XACT_EVENT_PRE_PREPARE) && OidIsValid(superuser_check_pending))
	{
		Oid			catalog = superuser_check_pending;

		superuser_check_pending = InvalidOid;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("mangopay_fdw could not check the superuser-only options of the %s written",
						catalog_name(catalog)),
				 errhint("Run the command as a superuser.")));
	}
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE)
		superuser_check_pending = InvalidOid;
}

static void
mp_options_subxact(SubXactEvent event, SubTransactionId mySubid,
				   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		superuser_check_pending = InvalidOid;
}

void
mp_options_init(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = mp_object_access;
	RegisterXactCallback(mp_options_xact, NULL);
	RegisterSubXactCallback(mp_options_subxact, NULL);
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

/* ------------------------------------------------------------------------
 * api_key_file: the key in a file of the server's OS user, not in the
 * catalog.  Each backend keeps the key of each file it read with the
 * file's identity (device, inode, size, modification time) and reads it
 * again when any of them changes, so a key is rotated by replacing the
 * file; a new key drops the cached tokens.  No message quotes the file.
 * ------------------------------------------------------------------------ */
#define MP_KEY_FILE_MAX 4096

typedef struct KeyFile
{
	struct KeyFile *next;
	char	   *path;
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	char	   *key;			/* TopMemoryContext; wiped when replaced */
} KeyFile;

static KeyFile *key_files = NULL;

/*
 * How many times a key file's key changed in this backend: auth.c drops the
 * tokens fetched with an older key when it sees the count move (this file
 * calls nothing above it).
 */
static uint64 key_changes = 0;

uint64
mp_key_changes(void)
{
	return key_changes;
}

static void
key_file_error(const char *path, const char *servername, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("the api_key_file \"%s\" of the user mapping for server \"%s\" %s",
					path, servername, why),
			 errdetail("The file must hold the API key alone (up to %d bytes; a final line break is ignored).",
					   MP_KEY_FILE_MAX),
			 errhint("Put the key alone in the file, readable by the operating system user the PostgreSQL server runs as; a new key is read at the next query, without DDL.")));
}

static char *
key_from_file(const char *path, const char *servername)
{
	KeyFile    *kf;
	struct stat st;
	char		buf[MP_KEY_FILE_MAX + 2];
	ssize_t		n = 0;
	int			fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open the api_key_file \"%s\" of the user mapping for server \"%s\": %m",
						path, servername),
				 errhint("The file must be readable by the operating system user the PostgreSQL server runs as.")));
	if (fstat(fd, &st) != 0)
	{
		int			save = errno;

		close(fd);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat the api_key_file \"%s\" of the user mapping for server \"%s\": %m",
						path, servername)));
	}
	for (kf = key_files; kf; kf = kf->next)
		if (strcmp(kf->path, path) == 0)
			break;
	if (kf && kf->dev == st.st_dev && kf->ino == st.st_ino && kf->size == st.st_size &&
		kf->mtime.tv_sec == st.st_mtim.tv_sec && kf->mtime.tv_nsec == st.st_mtim.tv_nsec)
	{
		close(fd);
		return pstrdup(kf->key);
	}
	if (!S_ISREG(st.st_mode))
	{
		close(fd);
		key_file_error(path, servername, "is not a regular file");
	}
	if (st.st_size > MP_KEY_FILE_MAX + 1)
	{
		close(fd);
		key_file_error(path, servername, "is too large to be a key");
	}
	while ((size_t) n < sizeof(buf))
	{
		ssize_t		k = read(fd, buf + n, sizeof(buf) - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
		{
			int			save = errno;

			explicit_bzero(buf, sizeof(buf));
			close(fd);
			errno = save;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read the api_key_file \"%s\" of the user mapping for server \"%s\": %m",
							path, servername)));
		}
		if (k == 0)
			break;
		n += k;
	}
	close(fd);
	if (n > MP_KEY_FILE_MAX + 1)
	{
		explicit_bzero(buf, sizeof(buf));
		key_file_error(path, servername, "is too large to be a key");
	}
	/* one final line break (LF or CRLF) is not part of the key */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0)
		key_file_error(path, servername, "is empty");
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char) buf[i] <= ' ' || buf[i] == 0x7f)
		{
			explicit_bzero(buf, sizeof(buf));
			key_file_error(path, servername, "holds a space, a line break or a control character");
		}
	buf[n] = '\0';

	if (kf == NULL)
	{
		kf = MemoryContextAllocZero(TopMemoryContext, sizeof(KeyFile));
		kf->path = MemoryContextStrdup(TopMemoryContext, path);
		kf->next = key_files;
		key_files = kf;
	}
	if (kf->key)
	{
		/* a new key: tokens fetched with the old one are dropped */
		if (strcmp(kf->key, buf) != 0)
			key_changes++;
		explicit_bzero(kf->key, strlen(kf->key));
		pfree(kf->key);
	}
	kf->key = MemoryContextStrdup(TopMemoryContext, buf);
	explicit_bzero(buf, sizeof(buf));
	kf->dev = st.st_dev;
	kf->ino = st.st_ino;
	kf->size = st.st_size;
	kf->mtime = st.st_mtim;
	return pstrdup(kf->key);
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
		else if (strcmp(def->defname, "api_key_file") == 0)
			c->api_key = key_from_file(defGetString(def), c->servername);
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

/*
 * The (api_url, client_id) pairs role may call through: for each
 * mangopay_fdw server it has USAGE on, the effective api_url and the
 * client_id of the user mapping a query of role would use there (its own,
 * else PUBLIC's).  mangopay_fdw_rate_limits() shows a role these budgets.
 */
List *
mp_usable_pairs(Oid roleid)
{
	Relation	rel = table_open(ForeignServerRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tup;
	List	   *pairs = NIL;

	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_foreign_server srv = (Form_pg_foreign_server) GETSTRUCT(tup);
		ForeignDataWrapper *fdw = GetForeignDataWrapper(srv->srvfdw);
		HeapTuple	um;
		char	   *validator;
		AclResult	acl;

		if (!OidIsValid(fdw->fdwvalidator))
			continue;
		validator = get_func_name(fdw->fdwvalidator);
		if (validator == NULL || strcmp(validator, "mangopay_fdw_validator") != 0)
			continue;
#if PG_VERSION_NUM >= 160000
		acl = object_aclcheck(ForeignServerRelationId, srv->oid, roleid, ACL_USAGE);
#else
		acl = pg_foreign_server_aclcheck(srv->oid, roleid, ACL_USAGE);
#endif
		if (acl != ACLCHECK_OK)
			continue;
		um = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(roleid),
							 ObjectIdGetDatum(srv->oid));
		if (!HeapTupleIsValid(um))
			um = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
								 ObjectIdGetDatum(srv->oid));
		if (HeapTupleIsValid(um))
		{
			bool		isnull;
			Datum		d = SysCacheGetAttr(USERMAPPINGUSERSERVER, um,
											Anum_pg_user_mapping_umoptions, &isnull);
			const char *client = isnull ? NULL : option_value(untransformRelOptions(d), "client_id");

			if (client)
			{
				MpPair	   *p = palloc(sizeof(MpPair));

				p->base_url = mp_get_server_settings(srv->oid)->base_url;
				p->client_id = pstrdup(client);
				pairs = lappend(pairs, p);
			}
			ReleaseSysCache(um);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return pairs;
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
