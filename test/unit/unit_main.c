/*-------------------------------------------------------------------------
 *
 * unit_main.c
 *	  Runs every unit test table and prints "N passed, M failed".
 *
 * Usage: unit_tests [-v] [substring]   (-v lists every test; a substring
 * runs only the tests whose name contains it).
 *
 * test/unit/unit_main.c
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int	cur_failed;
static const char *cur_name;

/*
 * ut_fail
 *		Print a failed check and mark the running test as failed.
 */
void
ut_fail(const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "  %s:%d: [%s] ", file, line, cur_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cur_failed++;
}

/*
 * The test allocator: malloc with a size header, contract checks, stats
 * and failure injection.
 */
typedef struct UtHdr
{
	size_t		size;
	size_t		pad;			/* keeps the payload 16-byte aligned */
} UtHdr;

static void *
ut_alloc(void *ctx, size_t size)
{
	UtAllocStats *st = ctx;
	UtHdr	   *h;

	st->calls++;
	if (size == 0)
		st->violations++;
	if (st->fail_at != 0 && st->calls == st->fail_at)
		return NULL;
	if (size > st->largest)
		st->largest = size;
	h = malloc(sizeof(UtHdr) + size);
	if (h == NULL)
		return NULL;
	h->size = size;
	st->live++;
	return h + 1;
}

static void *
ut_realloc(void *ctx, void *ptr, size_t size)
{
	UtAllocStats *st = ctx;
	UtHdr	   *h;

	st->calls++;
	if (ptr == NULL || size == 0)
	{
		st->violations++;
		return NULL;
	}
	if (st->fail_at != 0 && st->calls == st->fail_at)
		return NULL;
	if (size > st->largest)
		st->largest = size;
	h = realloc((UtHdr *) ptr - 1, sizeof(UtHdr) + size);
	if (h == NULL)
		return NULL;
	h->size = size;
	return h + 1;
}

static void
ut_free(void *ctx, void *ptr)
{
	UtAllocStats *st = ctx;

	if (ptr == NULL)
	{
		st->violations++;
		return;
	}
	st->live--;
	free((UtHdr *) ptr - 1);
}

void
ut_alloc_init(MpAlloc *a, UtAllocStats *st)
{
	memset(st, 0, sizeof(*st));
	a->alloc = ut_alloc;
	a->realloc = ut_realloc;
	a->free = ut_free;
	a->ctx = st;
}

int
main(int argc, char **argv)
{
	const UtTest *tables[] = {csv_tests, apiparse_tests, windows_tests, jsonrow_tests};
	bool		verbose = false;
	const char *filter = NULL;
	int			passed = 0;
	int			failed = 0;
	size_t		t;
	int			i;

	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else
			filter = argv[i];
	}

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
	{
		const UtTest *u;

		for (u = tables[t]; u->name != NULL; u++)
		{
			if (filter && strstr(u->name, filter) == NULL)
				continue;
			cur_name = u->name;
			cur_failed = 0;
			u->fn();
			if (cur_failed == 0)
			{
				passed++;
				if (verbose)
					printf("ok   %s\n", u->name);
			}
			else
			{
				failed++;
				printf("FAIL %s\n", u->name);
			}
		}
	}
	fflush(stderr);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
