/*-------------------------------------------------------------------------
 *
 * fuzz_csv.c
 *	  libFuzzer target for the incremental CSV parser (src/csv.c).
 *
 * Input layout: byte 0 picks the options (delimiter, small limits or
 * defaults), bytes 1-4 seed the chunking, the rest is the CSV stream.  The
 * stream is parsed as one chunk, then
 *	- split in two at a data-derived point,
 *	- in pseudo-random chunks of 1..n bytes,
 *	- with the callback stopping after every record and feeding resumed,
 *	- broken off at a data-derived point and resumed with mp_csv_rewind(),
 * and every run must observe exactly the same records (digest and count),
 * error (code, line, offset, message), consumed bytes and resume offset.
 * Each record is also checked against the limits and invariants, and the
 * allocator checks the MpAlloc contract, leaks and the size ceiling (half
 * of the inputs run without the allocator's realloc).
 * Any difference aborts, which libFuzzer reports as a crash.
 *
 * test/fuzz/fuzz_csv.c
 *
 *-------------------------------------------------------------------------
 */
#include "csv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct FzAlloc
{
	long		live;
	size_t		largest;
} FzAlloc;

typedef struct FzHdr
{
	size_t		size;
	size_t		pad;
} FzHdr;

static void *
fz_alloc(void *ctx, size_t size)
{
	FzAlloc    *st = ctx;
	FzHdr	   *h;

	if (size == 0)
		abort();
	h = malloc(sizeof(FzHdr) + size);
	if (h == NULL)
		return NULL;
	h->size = size;
	st->live++;
	if (size > st->largest)
		st->largest = size;
	return h + 1;
}

static void *
fz_realloc(void *ctx, void *ptr, size_t size)
{
	FzAlloc    *st = ctx;
	FzHdr	   *h;

	if (ptr == NULL || size == 0)
		abort();
	h = realloc((FzHdr *) ptr - 1, sizeof(FzHdr) + size);
	if (h == NULL)
		return NULL;
	h->size = size;
	if (size > st->largest)
		st->largest = size;
	return h + 1;
}

static void
fz_free(void *ctx, void *ptr)
{
	FzAlloc    *st = ctx;

	if (ptr == NULL)
		abort();
	st->live--;
	free((FzHdr *) ptr - 1);
}

/* What one parse observed */
typedef struct FzRun
{
	uint64_t	digest;
	long		nrec;
	int			rc;
	MpCsvErrorCode code;
	uint64_t	eline;
	uint64_t	eoff;
	char		msg[160];
	uint64_t	consumed;
	uint64_t	resume;

	/* callback state */
	const MpCsvOptions *opt;
	bool		stop;
	uint64_t	last_offset;
	uint64_t	last_line;
} FzRun;

static void
fnv(uint64_t *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		*h ^= p[i];
		*h *= UINT64_C(1099511628211);
	}
}

/*
 * record_cb
 *		Fold the record into the digest and check its invariants.
 */
static int
record_cb(void *arg, const MpCsvRecord *rec)
{
	FzRun	   *r = arg;
	int			i;

	if (rec->nfields < 1 || rec->nfields > r->opt->max_fields)
		abort();
	if (r->nrec > 0 && (rec->offset <= r->last_offset || rec->line <= r->last_line))
		abort();
	if ((uint64_t) (r->nrec + 1) != rec->recno)
		abort();
	r->last_offset = rec->offset;
	r->last_line = rec->line;
	fnv(&r->digest, &rec->line, sizeof(rec->line));
	fnv(&r->digest, &rec->offset, sizeof(rec->offset));
	fnv(&r->digest, &rec->nfields, sizeof(rec->nfields));
	for (i = 0; i < rec->nfields; i++)
	{
		const MpCsvField *f = &rec->fields[i];
		unsigned char q = f->quoted;

		if (f->len > r->opt->max_field_len || f->data[f->len] != '\0' ||
			memchr(f->data, '\0', f->len) != NULL)
			abort();
		fnv(&r->digest, &q, 1);
		fnv(&r->digest, &f->len, sizeof(f->len));
		fnv(&r->digest, f->data, f->len);
	}
	r->nrec++;
	return r->stop ? 3 : 0;
}

enum
{
	M_WHOLE, M_SPLIT, M_CHUNKS, M_STOP, M_REWIND
};

static void
run(const char *data, size_t len, const MpCsvOptions *opt, int mode,
	uint32_t seed, FzRun *r)
{
	FzAlloc		st = {0, 0};
	MpAlloc		a = {fz_alloc, fz_realloc, fz_free, &st};
	MpCsvParser *p;
	int			rc = 0;

	/* sometimes without realloc: the parser then copies itself */
	if (seed & 0x80000000u)
		a.realloc = NULL;
	memset(r, 0, sizeof(*r));
	r->digest = UINT64_C(14695981039346656037);
	r->opt = opt;
	p = mp_csv_create(&a, opt, record_cb, r);
	if (p == NULL)
		abort();

	switch (mode)
	{
		case M_WHOLE:
			rc = mp_csv_feed(p, data, len);
			break;
		case M_SPLIT:
			{
				size_t		k = len ? seed % (len + 1) : 0;

				rc = mp_csv_feed(p, data, k);
				if (rc == 0)
					rc = mp_csv_feed(p, data + k, len - k);
				break;
			}
		case M_CHUNKS:
			{
				size_t		pos = 0;
				uint32_t	s = seed | 1;
				size_t		maxchunk = 1 + (seed >> 24) % 17;

				while (pos < len && rc == 0)
				{
					size_t		n;

					s = s * 1103515245u + 12345u;
					n = 1 + (s >> 16) % maxchunk;
					if (n > len - pos)
						n = len - pos;
					rc = mp_csv_feed(p, data + pos, n);
					pos += n;
				}
				break;
			}
		case M_STOP:
			{
				size_t		pos = 0;

				r->stop = true;
				while (pos < len)
				{
					rc = mp_csv_feed(p, data + pos, len - pos);
					if (rc != 3)
						break;
					rc = 0;
					pos = (size_t) mp_csv_bytes_consumed(p);
				}
				break;
			}
		case M_REWIND:
			{
				size_t		k = len ? (seed >> 8) % (len + 1) : 0;
				uint64_t	from;

				(void) mp_csv_feed(p, data, k);
				from = mp_csv_rewind(p);
				if (from > k)
					abort();
				rc = mp_csv_feed(p, data + from, len - (size_t) from);
				break;
			}
	}
	if (rc == 0)
		rc = mp_csv_finish(p);
	if (rc == 3)
		rc = 0;
	if (rc != 0 && rc != MP_CSV_ERROR)
		abort();
	if ((rc == MP_CSV_ERROR) != (mp_csv_error(p) != NULL))
		abort();
	r->rc = rc;
	r->code = mp_csv_error_code(p);
	r->eline = mp_csv_error_line(p);
	r->eoff = mp_csv_error_offset(p);
	snprintf(r->msg, sizeof(r->msg), "%s", mp_csv_error(p) ? mp_csv_error(p) : "");
	r->consumed = mp_csv_bytes_consumed(p);
	r->resume = mp_csv_resume_offset(p);
	if (r->resume > r->consumed || r->consumed > len)
		abort();
	if (rc == 0 && r->consumed != len)
		abort();
	mp_csv_destroy(p);
	if (st.live != 0)
		abort();
	/* nothing bigger than the record buffer or the field arrays */
	if (st.largest > opt->max_record_len + 1 &&
		st.largest > (size_t) opt->max_fields * 32 &&
		st.largest > 4096)
		abort();
}

static void
compare(const FzRun *w, const FzRun *o, const char *what)
{
	if (w->digest == o->digest && w->nrec == o->nrec && w->rc == o->rc &&
		w->code == o->code && w->eline == o->eline && w->eoff == o->eoff &&
		strcmp(w->msg, o->msg) == 0 && w->consumed == o->consumed &&
		w->resume == o->resume)
		return;
	fprintf(stderr, "%s differs from whole parse:\n"
			"  whole: nrec=%ld rc=%d err='%s' line=%" PRIu64 " off=%" PRIu64
			" consumed=%" PRIu64 " resume=%" PRIu64 "\n"
			"  %s: nrec=%ld rc=%d err='%s' line=%" PRIu64 " off=%" PRIu64
			" consumed=%" PRIu64 " resume=%" PRIu64 "\n",
			what, w->nrec, w->rc, w->msg, w->eline, w->eoff, w->consumed, w->resume,
			what, o->nrec, o->rc, o->msg, o->eline, o->eoff, o->consumed, o->resume);
	abort();
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[4] = {',', ';', '\t', '|'};
	MpCsvOptions opt;
	uint32_t	seed;
	const char *csv;
	size_t		len;
	FzRun		whole;
	FzRun		other;

	if (size < 5)
		return 0;
	memset(&opt, 0, sizeof(opt));
	opt.delimiter = delims[data[0] & 3];
	if (data[0] & 4)
	{
		/* small limits, to reach the limit paths */
		opt.max_field_len = 1 + (data[0] >> 3) % 24;
		opt.max_record_len = 1 + (size_t) data[1] % 64;
		opt.max_fields = 1 + data[2] % 12;
	}
	else
	{
		opt.max_field_len = MP_CSV_DEFAULT_MAX_FIELD_LEN;
		opt.max_record_len = MP_CSV_DEFAULT_MAX_RECORD_LEN;
		opt.max_fields = MP_CSV_DEFAULT_MAX_FIELDS;
	}
	seed = (uint32_t) data[1] | (uint32_t) data[2] << 8 |
		(uint32_t) data[3] << 16 | (uint32_t) data[4] << 24;
	csv = (const char *) data + 5;
	len = size - 5;

	run(csv, len, &opt, M_WHOLE, seed, &whole);
	run(csv, len, &opt, M_SPLIT, seed, &other);
	compare(&whole, &other, "split");
	run(csv, len, &opt, M_CHUNKS, seed, &other);
	compare(&whole, &other, "chunks");
	run(csv, len, &opt, M_STOP, seed, &other);
	compare(&whole, &other, "stop");
	run(csv, len, &opt, M_REWIND, seed, &other);
	compare(&whole, &other, "rewind");
	return 0;
}
