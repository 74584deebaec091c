/*-------------------------------------------------------------------------
 * json_own.c
 *		The one way a cJSON tree is owned.
 *
 * libcjson allocates with malloc, so a tree is not freed by a memory
 * context reset by itself, and an ERROR between a parse and its
 * cJSON_Delete would leak it (and, for the OAuth token response, leave the
 * token in freed memory).  So every tree is owned by a memory context from
 * the moment it exists: mp_json_own() registers a reset callback on
 * CurrentMemoryContext that deletes the tree (wiping every key, string and
 * number first when asked), and mp_json_release() frees it early and takes
 * the callback off the context.  A tree read for a whole scan (a list
 * page, a report's filters and columns) is owned by the scan's context; a
 * tree read and dropped within a function by whatever context is current.
 * Either way an ERROR unwinding the context frees it.
 *
 * One owner per parse (a page, a response), never per row.  The owners
 * live on one backend-wide list, newest first, so that mp_json_release()
 * finds one from the tree alone; a backend holds a handful at a time.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"
#include "jsonrow.h"

#include <cjson/cJSON.h>

#include "lib/ilist.h"
#include "nodes/memnodes.h"
#include "utils/memutils.h"

typedef struct JsonOwner
{
	MemoryContextCallback cb;
	dlist_node	node;			/* in owners */
	MemoryContext cxt;			/* the context whose reset frees root */
	cJSON	   *root;
	bool		wipe;
} JsonOwner;

static dlist_head owners = DLIST_STATIC_INIT(owners);

static void
free_tree(JsonOwner *o)
{
	dlist_delete(&o->node);
	if (o->wipe)
		mp_json_wipe(o->root);
	cJSON_Delete(o->root);
	o->root = NULL;
}

/* the context is reset or deleted (its end, a rescan, an ERROR) */
static void
owner_cb(void *arg)
{
	free_tree((JsonOwner *) arg);
}

static JsonOwner *
find_owner(cJSON *j)
{
	dlist_iter	it;

	dlist_foreach(it, &owners)
	{
		JsonOwner  *o = dlist_container(JsonOwner, node, it.cur);

		if (o->root == j)
			return o;
	}
	elog(ERROR, "mangopay_fdw: a cJSON tree that no memory context owns");
	pg_unreachable();
}

/*
 * Make CurrentMemoryContext the owner of j (NULL passes through): its
 * reset or deletion deletes the tree, after wiping it when wipe.  j must
 * be a whole tree, owned by no one else, and is not to be put in another
 * tree afterwards (mp_json_in_array does that).
 */
cJSON *
mp_json_own(cJSON *j, bool wipe)
{
	JsonOwner  *o;

	if (j == NULL)
		return NULL;
	o = MemoryContextAllocExtended(CurrentMemoryContext, sizeof(JsonOwner), MCXT_ALLOC_NO_OOM);
	if (o == NULL)
	{
		if (wipe)
			mp_json_wipe(j);
		cJSON_Delete(j);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	o->cb.func = owner_cb;
	o->cb.arg = o;
	o->cxt = CurrentMemoryContext;
	o->root = j;
	o->wipe = wipe;
	MemoryContextRegisterResetCallback(o->cxt, &o->cb);
	dlist_push_head(&owners, &o->node);
	return j;
}

/*
 * Free an owned tree now (NULL is a no-op).  PostgreSQL before 19 has no
 * MemoryContextUnregisterResetCallback: the callback is taken off the
 * context's list here.
 */
void
mp_json_release(cJSON *j)
{
	JsonOwner  *o;
	MemoryContextCallback **p;

	if (j == NULL)
		return;
	o = find_owner(j);
	for (p = &o->cxt->reset_cbs; *p; p = &(*p)->next)
		if (*p == &o->cb)
		{
			*p = o->cb.next;
			break;
		}
	free_tree(o);
	pfree(o);
}

/* an owned tree put in a new JSON array, which takes over the ownership */
cJSON *
mp_json_in_array(cJSON *j)
{
	JsonOwner  *o = find_owner(j);
	cJSON	   *a = cJSON_CreateArray();

	if (a == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	cJSON_AddItemToArray(a, j);
	o->root = a;
	return a;
}
