/*-------------------------------------------------------------------------
 *
 * mpalloc.h
 *	  The caller-supplied allocator used by the pure-C parts of mangopay_fdw.
 *
 * The CSV parser, the response-header parsers and the window splitter take
 * no PostgreSQL headers, so that they can be unit-tested and fuzzed on their
 * own.  They never call malloc() themselves: every allocation goes through
 * an MpAlloc, which the PostgreSQL side routes to palloc in the scan's memory
 * context and the tests route to malloc.
 *
 * Contract the pure-C code keeps with an MpAlloc (so that palloc-style
 * functions can be plugged in directly):
 *	- alloc and realloc are never called with a size of 0;
 *	- realloc is never called with a NULL pointer (alloc is used instead);
 *	- free is never called with a NULL pointer;
 *	- realloc may be NULL: the code then allocates a new block, copies and
 *	  frees the old one (palloc has no non-throwing repalloc before
 *	  PostgreSQL 16);
 *	- a NULL result from alloc or realloc is handled as "out of memory" and
 *	  reported as an error, never dereferenced.  A PostgreSQL caller that
 *	  feeds the CSV parser from a libcurl callback must therefore use
 *	  non-throwing variants (MCXT_ALLOC_NO_OOM), because it must not
 *	  longjmp out of libcurl.
 *
 * src/mpalloc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MP_ALLOC_H
#define MP_ALLOC_H

#include <stddef.h>

typedef struct MpAlloc
{
	void	   *(*alloc) (void *ctx, size_t size);
	void	   *(*realloc) (void *ctx, void *ptr, size_t size);	/* may be NULL */
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;			/* passed back to every call */
} MpAlloc;

#endif							/* MP_ALLOC_H */
