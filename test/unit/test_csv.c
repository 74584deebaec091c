/*-------------------------------------------------------------------------
 *
 * test_csv.c
 *	  Unit tests for the incremental CSV parser (src/csv.c).
 *
 * Every positive and negative case goes through csv_expect(), which parses
 * the input as one chunk and compares the records and error with the
 * expected ones, then parses it again split at every byte, one byte at a
 * time, in three chunks (short inputs), stopping after every record from
 * the callback and continuing, and broken off at every byte and resumed
 * with mp_csv_rewind(); all of these must give identical results.  Records
 * are rendered as text for comparison:
 *
 *	L<line>@<offset>#<recno>: u<value> q<value> ...
 *
 * one line per record, u/q telling unquoted from quoted fields, and CR, LF
 * and backslash in values written as \r, \n and \\.
 *
 * test/unit/test_csv.c
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>

/* Collected records, rendered as text */
typedef struct CsvOut
{
	char	   *buf;
	size_t		len;
	size_t		cap;
	int			nrec;
	bool		stop;			/* callback asks to stop after each record */
	bool		bad;			/* a record broke an invariant */
} CsvOut;

typedef enum CsvMode
{
	MODE_WHOLE,
	MODE_SPLIT,					/* two chunks, split at k */
	MODE_SPLIT3,				/* three chunks, split at k and k2 */
	MODE_BYTES,					/* one byte at a time */
	MODE_STOP,					/* callback stops after each record */
	MODE_REWIND					/* break off after k bytes, rewind, resume */
} CsvMode;

/* Everything observable about one parse */
typedef struct CsvRun
{
	CsvOut		out;
	int			rc;
	MpCsvErrorCode code;
	uint64_t	eline;
	uint64_t	eoff;
	char		msg[160];
	uint64_t	consumed;
	uint64_t	resume;
} CsvRun;

static void
out_putc(CsvOut *o, char c)
{
	if (o->len + 1 >= o->cap)
	{
		o->cap = o->cap ? o->cap * 2 : 256;
		o->buf = realloc(o->buf, o->cap);
		if (o->buf == NULL)
			abort();
	}
	o->buf[o->len++] = c;
	o->buf[o->len] = '\0';
}

static void
out_puts(CsvOut *o, const char *s)
{
	if (o->buf == NULL)
	{
		o->cap = 256;
		o->buf = malloc(o->cap);
		if (o->buf == NULL)
			abort();
		o->buf[0] = '\0';
	}
	while (*s)
		out_putc(o, *s++);
}

/*
 * collect
 *		Record callback: render the record and check its invariants.
 */
static int
collect(void *arg, const MpCsvRecord *rec)
{
	CsvOut	   *o = arg;
	char		hdr[96];
	int			i;

	snprintf(hdr, sizeof(hdr), "L%" PRIu64 "@%" PRIu64 "#%" PRIu64 ":",
			 rec->line, rec->offset, rec->recno);
	out_puts(o, hdr);
	if (rec->nfields < 1)
		o->bad = true;
	for (i = 0; i < rec->nfields; i++)
	{
		const MpCsvField *f = &rec->fields[i];
		size_t		k;

		out_putc(o, ' ');
		out_putc(o, f->quoted ? 'q' : 'u');
		if (f->data[f->len] != '\0')
			o->bad = true;
		for (k = 0; k < f->len; k++)
		{
			char		c = f->data[k];

			if (c == '\n')
				out_puts(o, "\\n");
			else if (c == '\r')
				out_puts(o, "\\r");
			else if (c == '\\')
				out_puts(o, "\\\\");
			else
				out_putc(o, c);
		}
	}
	out_putc(o, '\n');
	o->nrec++;
	return o->stop ? 7 : 0;
}

/*
 * csv_run
 *		Parse in[0..len) in the given mode and record what happened.
 *		Also checks the allocator contract and that nothing leaked.
 */
static void
csv_run(const char *in, size_t len, const MpCsvOptions *opt, CsvMode mode,
		size_t k, size_t k2, CsvRun *r)
{
	MpAlloc		a;
	UtAllocStats st;
	MpCsvParser *p;
	int			rc = 0;

	memset(r, 0, sizeof(*r));
	out_puts(&r->out, "");
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, opt, collect, &r->out);
	if (p == NULL)
	{
		ut_fail(__FILE__, __LINE__, "mp_csv_create failed");
		return;
	}

	switch (mode)
	{
		case MODE_WHOLE:
			rc = mp_csv_feed(p, in, len);
			break;
		case MODE_SPLIT:
			rc = mp_csv_feed(p, in, k);
			if (rc == 0)
				rc = mp_csv_feed(p, in + k, len - k);
			break;
		case MODE_SPLIT3:
			rc = mp_csv_feed(p, in, k);
			if (rc == 0)
				rc = mp_csv_feed(p, in + k, k2 - k);
			if (rc == 0)
				rc = mp_csv_feed(p, in + k2, len - k2);
			break;
		case MODE_BYTES:
			{
				size_t		i;

				for (i = 0; i < len && rc == 0; i++)
					rc = mp_csv_feed(p, in + i, 1);
				break;
			}
		case MODE_STOP:
			{
				size_t		pos = 0;

				r->out.stop = true;
				while (pos < len)
				{
					rc = mp_csv_feed(p, in + pos, len - pos);
					if (rc != 7)
						break;
					rc = 0;
					pos = (size_t) mp_csv_bytes_consumed(p);
				}
				break;
			}
		case MODE_REWIND:
			{
				uint64_t	from;

				(void) mp_csv_feed(p, in, k);
				from = mp_csv_rewind(p);
				if (from > k)
					ut_fail(__FILE__, __LINE__, "rewind beyond what was fed");
				rc = mp_csv_feed(p, in + from, len - (size_t) from);
				break;
			}
	}
	if (rc == 0)
		rc = mp_csv_finish(p);
	if (rc == 7)
		rc = 0;
	r->rc = rc;
	r->code = mp_csv_error_code(p);
	r->eline = mp_csv_error_line(p);
	r->eoff = mp_csv_error_offset(p);
	snprintf(r->msg, sizeof(r->msg), "%s", mp_csv_error(p) ? mp_csv_error(p) : "");
	r->consumed = mp_csv_bytes_consumed(p);
	r->resume = mp_csv_resume_offset(p);
	if ((rc == MP_CSV_ERROR) != (mp_csv_error(p) != NULL))
		ut_fail(__FILE__, __LINE__, "rc %d but error \"%s\"", rc, r->msg);
	mp_csv_destroy(p);
	if (st.live != 0)
		ut_fail(__FILE__, __LINE__, "%ld blocks leaked", st.live);
	if (st.violations != 0)
		ut_fail(__FILE__, __LINE__, "%ld allocator contract violations",
				st.violations);
	if (r->out.bad)
		ut_fail(__FILE__, __LINE__, "record invariant broken");
}

static void
csv_run_free(CsvRun *r)
{
	free(r->out.buf);
	r->out.buf = NULL;
}

/*
 * same_run
 *		Whether two parses of the same input observed the same things.
 */
static bool
same_run(const CsvRun *a, const CsvRun *b)
{
	return strcmp(a->out.buf, b->out.buf) == 0 &&
		a->rc == b->rc && a->code == b->code &&
		a->eline == b->eline && a->eoff == b->eoff &&
		strcmp(a->msg, b->msg) == 0 &&
		a->consumed == b->consumed && a->resume == b->resume;
}

static void
report_diff(const char *file, int line, const char *what, size_t k,
			const CsvRun *whole, const CsvRun *other)
{
	ut_fail(file, line,
			"%s (k=%zu) differs from whole:\n--- whole rc=%d err=%s line=%" PRIu64
			" off=%" PRIu64 " consumed=%" PRIu64 " resume=%" PRIu64 "\n%s"
			"--- %s rc=%d err=%s line=%" PRIu64 " off=%" PRIu64
			" consumed=%" PRIu64 " resume=%" PRIu64 "\n%s",
			what, k, whole->rc, whole->msg, whole->eline, whole->eoff,
			whole->consumed, whole->resume, whole->out.buf,
			what, other->rc, other->msg, other->eline, other->eoff,
			other->consumed, other->resume, other->out.buf);
}

/*
 * check_equivalence
 *		Parse in every chunking mode and compare each with "whole".
 */
static void
check_equivalence(const char *file, int line, const char *in, size_t len,
				  const MpCsvOptions *opt, const CsvRun *whole)
{
	CsvRun		r;
	size_t		k;
	size_t		k2;

	for (k = 0; k <= len; k++)
	{
		csv_run(in, len, opt, MODE_SPLIT, k, 0, &r);
		if (!same_run(whole, &r))
		{
			report_diff(file, line, "split", k, whole, &r);
			csv_run_free(&r);
			return;
		}
		csv_run_free(&r);

		csv_run(in, len, opt, MODE_REWIND, k, 0, &r);
		if (!same_run(whole, &r))
		{
			report_diff(file, line, "rewind", k, whole, &r);
			csv_run_free(&r);
			return;
		}
		csv_run_free(&r);
	}
	if (len <= 48)
	{
		for (k = 0; k <= len; k++)
			for (k2 = k; k2 <= len; k2++)
			{
				csv_run(in, len, opt, MODE_SPLIT3, k, k2, &r);
				if (!same_run(whole, &r))
				{
					report_diff(file, line, "split3", k * 1000 + k2, whole, &r);
					csv_run_free(&r);
					return;
				}
				csv_run_free(&r);
			}
	}
	csv_run(in, len, opt, MODE_BYTES, 0, 0, &r);
	if (!same_run(whole, &r))
		report_diff(file, line, "bytes", 0, whole, &r);
	csv_run_free(&r);

	csv_run(in, len, opt, MODE_STOP, 0, 0, &r);
	if (!same_run(whole, &r))
		report_diff(file, line, "stop", 0, whole, &r);
	csv_run_free(&r);
}

/*
 * csv_expect
 *		Parse, compare records (and error, if code != MP_CSV_OK) with the
 *		expectation, then check chunking equivalence.
 */
static void
csv_expect(const char *file, int line, const char *in, size_t len,
		   const MpCsvOptions *opt, const char *expect,
		   MpCsvErrorCode code, uint64_t eline, uint64_t eoff)
{
	CsvRun		whole;

	csv_run(in, len, opt, MODE_WHOLE, 0, 0, &whole);
	if (strcmp(whole.out.buf, expect) != 0)
		ut_fail(file, line, "records:\n--- got\n%s--- expected\n%s",
				whole.out.buf, expect);
	if (whole.code != code)
		ut_fail(file, line, "error code %d (%s), expected %d",
				(int) whole.code, whole.msg, (int) code);
	if (code != MP_CSV_OK)
	{
		if (whole.rc != MP_CSV_ERROR)
			ut_fail(file, line, "rc %d, expected MP_CSV_ERROR", whole.rc);
		if (whole.eline != eline)
			ut_fail(file, line, "error line %" PRIu64 ", expected %" PRIu64,
					whole.eline, eline);
		if (whole.eoff != eoff)
			ut_fail(file, line, "error offset %" PRIu64 ", expected %" PRIu64,
					whole.eoff, eoff);
		if (whole.consumed != eoff)
			ut_fail(file, line, "consumed %" PRIu64 " after error at %" PRIu64,
					whole.consumed, eoff);
	}
	else
	{
		if (whole.rc != 0)
			ut_fail(file, line, "rc %d (%s), expected 0", whole.rc, whole.msg);
		if (whole.consumed != len)
			ut_fail(file, line, "consumed %" PRIu64 ", expected %zu",
					whole.consumed, len);
	}
	check_equivalence(file, line, in, len, opt, &whole);
	csv_run_free(&whole);
}

/* Input as a string literal (may hold NULs): length from sizeof */
#define CSV_OK(in, expect) \
	csv_expect(__FILE__, __LINE__, in, sizeof(in) - 1, NULL, expect, \
			   MP_CSV_OK, 0, 0)
#define CSV_OK_OPT(in, opt, expect) \
	csv_expect(__FILE__, __LINE__, in, sizeof(in) - 1, opt, expect, \
			   MP_CSV_OK, 0, 0)
#define CSV_ERR(in, expect, code, eline, eoff) \
	csv_expect(__FILE__, __LINE__, in, sizeof(in) - 1, NULL, expect, \
			   code, eline, eoff)
#define CSV_ERR_OPT(in, opt, expect, code, eline, eoff) \
	csv_expect(__FILE__, __LINE__, in, sizeof(in) - 1, opt, expect, \
			   code, eline, eoff)

/* Parse as one chunk and return the error message (static buffer) */
static const char *
csv_errmsg(const char *in, size_t len, const MpCsvOptions *opt)
{
	static char msg[160];
	CsvRun		r;

	csv_run(in, len, opt, MODE_WHOLE, 0, 0, &r);
	snprintf(msg, sizeof(msg), "%s", r.msg);
	csv_run_free(&r);
	return msg;
}

/* ---------------------------------------------------------------------- */
/* Basic syntax */

static void
test_csv_simple_lf(void)
{
	CSV_OK("a,b,c\n1,2,3\n",
		   "L1@0#1: ua ub uc\n"
		   "L2@6#2: u1 u2 u3\n");
}

static void
test_csv_crlf(void)
{
	CSV_OK("Id,Tag\r\n1,x\r\n2,y\r\n",
		   "L1@0#1: uId uTag\n"
		   "L2@8#2: u1 ux\n"
		   "L3@13#3: u2 uy\n");
}

static void
test_csv_lone_cr(void)
{
	CSV_OK("a,b\rc,d\r",
		   "L1@0#1: ua ub\n"
		   "L2@4#2: uc ud\n");
}

static void
test_csv_mixed_line_ends(void)
{
	CSV_OK("a\nb\r\nc\rd\n\re",
		   "L1@0#1: ua\n"
		   "L2@2#2: ub\n"
		   "L3@5#3: uc\n"
		   "L4@7#4: ud\n"
		   "L6@10#5: ue\n");
}

static void
test_csv_no_trailing_newline(void)
{
	CSV_OK("a,b\nc,d",
		   "L1@0#1: ua ub\n"
		   "L2@4#2: uc ud\n");
}

/*
 * The forms a report file may take (spec §4c; sql/csvshapes.sql reads each
 * through the FDW): LF or CRLF, a BOM or none, the last record with or
 * without a line break, CR, LF or CRLF inside quoted cells, and a report
 * without rows as a header alone, with or without its line break.
 */
static void
test_csv_report_shapes(void)
{
	CSV_OK("\xef\xbb\xbfId,Tag\n1,\"a\rb\"\n2,\"c\r\nd\"",
		   "L1@3#1: uId uTag\n"
		   "L2@10#2: u1 qa\\rb\n"
		   "L4@18#3: u2 qc\\r\\nd\n");
	CSV_OK("Id,Tag\r\n1,\"x\ny\"\r\n2,z",
		   "L1@0#1: uId uTag\n"
		   "L2@8#2: u1 qx\\ny\n"
		   "L4@17#3: u2 uz\n");
	CSV_OK("Id,Tag\n1,\"last\r\"",
		   "L1@0#1: uId uTag\n"
		   "L2@7#2: u1 qlast\\r\n");
	CSV_OK("Id,Tag\r\n", "L1@0#1: uId uTag\n");
	CSV_OK("Id,Tag", "L1@0#1: uId uTag\n");
	CSV_OK("\xef\xbb\xbfId,Tag", "L1@3#1: uId uTag\n");
	CSV_OK("\xef\xbb\xbfId,Tag\n", "L1@3#1: uId uTag\n");
}

/*
 * A last record without a line break comes out of mp_csv_finish(), after
 * the last byte was fed: the caller (report.c) meets it once the transfer
 * is over.  Also after a break-off right before that record, resumed.
 */
static void
test_csv_finish_delivers_last_record(void)
{
	static const char *const files[] = {
		"Id,Tag\r\n1,a\r\n2,b",
		"\xef\xbb\xbfId,Tag\n1,a\n2,\"b\rc\"",
		"Id,Tag\r",
		"Id,Tag",
	};
	static const int nrec[] = {3, 3, 1, 1};
	static const int by_finish[] = {1, 1, 0, 1};

	for (int i = 0; i < (int) (sizeof(files) / sizeof(files[0])); i++)
	{
		size_t		len = strlen(files[i]);

		for (int cut = 0; cut < 2; cut++)
		{
			MpAlloc		a;
			UtAllocStats st;
			CsvOut		out;
			MpCsvParser *p;
			size_t		at = 0;

			memset(&out, 0, sizeof(out));
			ut_alloc_init(&a, &st);
			p = mp_csv_create(&a, NULL, collect, &out);
			if (cut)
			{
				/* broken off at the start of the last line, resumed there */
				const char *last = strrchr(files[i], '\n');

				at = last ? (size_t) (last - files[i]) + 1 : 0;
				CHECK_INT(mp_csv_feed(p, files[i], at), 0);
				CHECK_INT(mp_csv_bytes_consumed(p), at);
			}
			CHECK_INT(mp_csv_feed(p, files[i] + at, len - at), 0);
			CHECK_INT(out.nrec, nrec[i] - by_finish[i]);
			CHECK_INT(mp_csv_finish(p), 0);
			CHECK_INT(out.nrec, nrec[i]);
			CHECK_INT(mp_csv_finish(p), 0);
			CHECK_INT(out.nrec, nrec[i]);
			mp_csv_destroy(p);
			CHECK_INT(st.live, 0);
			free(out.buf);
		}
	}
}

static void
test_csv_empty_input(void)
{
	CSV_OK("", "");
}

static void
test_csv_only_newlines(void)
{
	CSV_OK("\n\r\n\r\n\n", "");
}

static void
test_csv_single_field(void)
{
	CSV_OK("x", "L1@0#1: ux\n");
}

static void
test_csv_trailing_delimiter(void)
{
	CSV_OK("a,\n,\n,,b",
		   "L1@0#1: ua u\n"
		   "L2@3#2: u u\n"
		   "L3@5#3: u u ub\n");
}

static void
test_csv_whitespace_kept(void)
{
	CSV_OK(" a , b \n \n",
		   "L1@0#1: u a  u b \n"
		   "L2@8#2: u \n");
}

static void
test_csv_utf8_passthrough(void)
{
	/* bytes pass through untouched; every split point inside the chars */
	CSV_OK("caf\xc3\xa9,\xe2\x82\xac\n\"\xf0\x9f\x98\x80\",\xff\xfe\n",
		   "L1@0#1: ucaf\xc3\xa9 u\xe2\x82\xac\n"
		   "L2@10#2: q\xf0\x9f\x98\x80 u\xff\xfe\n");
}

/* ---------------------------------------------------------------------- */
/* Quoting */

static void
test_csv_quoted_delimiter(void)
{
	CSV_OK("\"a,b\",c\n", "L1@0#1: qa,b uc\n");
}

static void
test_csv_doubled_quotes(void)
{
	CSV_OK("\"say \"\"hi\"\"\",\"\"\"\"\n",
		   "L1@0#1: qsay \"hi\" q\"\n");
}

static void
test_csv_doubled_quote_at_end(void)
{
	CSV_OK("\"x\"\"\"", "L1@0#1: qx\"\n");
}

static void
test_csv_quoted_newlines(void)
{
	CSV_OK("\"a\nb\",\"c\r\nd\",\"e\rf\"\nnext,1\n",
		   "L1@0#1: qa\\nb qc\\r\\nd qe\\rf\n"
		   "L5@19#2: unext u1\n");
}

static void
test_csv_quoted_cr_then_quote_then_lf(void)
{
	/* the CR inside the value is one line; the LF after the quote ends it */
	CSV_OK("\"a\r\"\nb\n",
		   "L1@0#1: qa\\r\n"
		   "L3@5#2: ub\n");
}

static void
test_csv_quoted_only_newlines(void)
{
	CSV_OK("\"\n\n\"\nz\n",
		   "L1@0#1: q\\n\\n\n"
		   "L4@5#2: uz\n");
}

static void
test_csv_quoted_vs_unquoted_empty(void)
{
	CSV_OK(",\"\",\n\"\"\n",
		   "L1@0#1: u q u\n"
		   "L2@5#2: q\n");
}

static void
test_csv_quoted_at_eof(void)
{
	CSV_OK("a,\"b\"", "L1@0#1: ua qb\n");
}

static void
test_csv_quoted_empty_at_eof(void)
{
	CSV_OK("a,\"\"", "L1@0#1: ua q\n");
}

static void
test_csv_delimiter_only(void)
{
	CSV_OK(",", "L1@0#1: u u\n");
}

/* ---------------------------------------------------------------------- */
/* BOM and blank lines */

static void
test_csv_bom_skipped(void)
{
	CSV_OK("\xef\xbb\xbfId,Tag\n1,x\n",
		   "L1@3#1: uId uTag\n"
		   "L2@10#2: u1 ux\n");
}

static void
test_csv_bom_only(void)
{
	CSV_OK("\xef\xbb\xbf", "");
}

static void
test_csv_bom_then_blank(void)
{
	CSV_OK("\xef\xbb\xbf\r\nx\r\n", "L2@5#1: ux\n");
}

static void
test_csv_partial_bom_is_data(void)
{
	CSV_OK("\xef\xbbx,y\n", "L1@0#1: u\xef\xbbx uy\n");
	CSV_OK("\xef", "L1@0#1: u\xef\n");
	CSV_OK("\xef\xbb", "L1@0#1: u\xef\xbb\n");
	CSV_OK("\xef\n", "L1@0#1: u\xef\n");
	CSV_OK("\xef,", "L1@0#1: u\xef u\n");
}

static void
test_csv_bom_not_skipped_later(void)
{
	CSV_OK("a\n\xef\xbb\xbf" "b\n", "L1@0#1: ua\nL2@2#2: u\xef\xbb\xbf" "b\n");
	/* a second BOM right after the first is data */
	CSV_OK("\xef\xbb\xbf\xef\xbb\xbf", "L1@3#1: u\xef\xbb\xbf\n");
}

static void
test_csv_bom_then_quote(void)
{
	CSV_OK("\xef\xbb\xbf\"a\"", "L1@3#1: qa\n");
}

static void
test_csv_blank_lines_skipped(void)
{
	CSV_OK("\n\na\n\n\nb\r\n\r\n\r\nc\n\n",
		   "L3@2#1: ua\n"
		   "L6@6#2: ub\n"
		   "L9@13#3: uc\n");
}

/* ---------------------------------------------------------------------- */
/* Format errors */

static void
test_csv_nul_unquoted(void)
{
	CSV_ERR("a,b\nc\0d\n", "L1@0#1: ua ub\n", MP_CSV_EFORMAT, 2, 5);
}

static void
test_csv_nul_quoted(void)
{
	CSV_ERR("x\n\"a\n\0\"\n", "L1@0#1: ux\n", MP_CSV_EFORMAT, 3, 5);
}

static void
test_csv_nul_line_start(void)
{
	CSV_ERR("\0", "", MP_CSV_EFORMAT, 1, 0);
	CSV_ERR("a\n\n\0", "L1@0#1: ua\n", MP_CSV_EFORMAT, 3, 3);
	CSV_ERR("\xef\xbb\xbf\0", "", MP_CSV_EFORMAT, 1, 3);
	CSV_ERR("\xef\xbb\0", "", MP_CSV_EFORMAT, 1, 2);
	CSV_ERR("\"a\"\0", "", MP_CSV_EFORMAT, 1, 3);
	CSV_ERR("a\r\0", "L1@0#1: ua\n", MP_CSV_EFORMAT, 2, 2);
}

static void
test_csv_nul_message(void)
{
	CHECK_STR(csv_errmsg("a\0", 2, NULL), "NUL byte in data");
}

static void
test_csv_unexpected_quote(void)
{
	CSV_ERR("ok\nab\"c\"\n", "L1@0#1: uok\n", MP_CSV_EFORMAT, 2, 5);
	CSV_ERR("a, \"b\"\n", "", MP_CSV_EFORMAT, 1, 3);
	CHECK_STR(csv_errmsg("a,b\"", 4, NULL), "unexpected quote in unquoted field 2");
}

static void
test_csv_char_after_closing_quote(void)
{
	CSV_ERR("\"a\"b,c\n", "", MP_CSV_EFORMAT, 1, 3);
	CSV_ERR("x\r\n\"a\" ,c\n", "L1@0#1: ux\n", MP_CSV_EFORMAT, 2, 6);
	CHECK_STR(csv_errmsg("\"a\"b", 4, NULL),
			  "unexpected character after closing quote of field 1");
}

static void
test_csv_unterminated_quote(void)
{
	/* the error line is where the quoted field opened */
	CSV_ERR("a\n\"b\nc\nd", "L1@0#1: ua\n", MP_CSV_EFORMAT, 2, 8);
	CSV_ERR("\"", "", MP_CSV_EFORMAT, 1, 1);
	CSV_ERR("x,\"\"\"", "", MP_CSV_EFORMAT, 1, 5);
	CHECK_STR(csv_errmsg("x,\"ab", 5, NULL), "unterminated quoted field 2");
}

static void
test_csv_error_line_after_multiline_field(void)
{
	CSV_ERR("\"a\r\nb\r\nc\",1\r\nx\"\r\n",
			"L1@0#1: qa\\r\\nb\\r\\nc u1\n",
			MP_CSV_EFORMAT, 4, 14);
}

static void
test_csv_error_is_sticky(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		o;
	MpCsvParser *p;

	memset(&o, 0, sizeof(o));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &o);
	CHECK_INT(mp_csv_feed(p, "a\"", 2), MP_CSV_ERROR);
	CHECK_INT(mp_csv_feed(p, "b\n", 2), MP_CSV_ERROR);
	CHECK_INT(mp_csv_finish(p), MP_CSV_ERROR);
	CHECK_INT(mp_csv_error_code(p), MP_CSV_EFORMAT);
	CHECK_INT(mp_csv_bytes_consumed(p), 1);
	CHECK_INT(o.nrec, 0);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(o.buf);
}

/* ---------------------------------------------------------------------- */
/* Limits */

static void
test_csv_field_limit_exact(void)
{
	MpCsvOptions o = {0};

	o.max_field_len = 4;
	CSV_OK_OPT("abcd,\"wxyz\"\n\"a\"\"b\"\"\"\n", &o,
			   "L1@0#1: uabcd qwxyz\n"
			   "L2@12#2: qa\"b\"\n");
}

static void
test_csv_field_limit_over(void)
{
	MpCsvOptions o = {0};

	o.max_field_len = 4;
	CSV_ERR_OPT("abcd\nabcde\n", &o, "L1@0#1: uabcd\n", MP_CSV_ELIMIT, 2, 9);
	CSV_ERR_OPT("\"ab\nde\"", &o, "", MP_CSV_ELIMIT, 2, 5);
	CSV_ERR_OPT("x,\"\"\"\"\"\"\"\"\"\"\"", &o, "", MP_CSV_ELIMIT, 1, 12);
	CHECK_STR(csv_errmsg("abcde", 5, &o), "field 1 exceeds the limit of 4 bytes");
}

static void
test_csv_record_limit(void)
{
	MpCsvOptions o = {0};

	o.max_record_len = 5;
	/* 5 raw bytes fit; the line end does not count */
	CSV_OK_OPT("ab,cd\r\n\"a\"\"\"\n", &o,
			   "L1@0#1: uab ucd\n"
			   "L2@7#2: qa\"\n");
	CSV_ERR_OPT("ab,cd\nab,cde\n", &o, "L1@0#1: uab ucd\n", MP_CSV_ELIMIT, 2, 11);
	CSV_ERR_OPT("ab,c,d", &o, "", MP_CSV_ELIMIT, 1, 5);
	CSV_ERR_OPT("\"abcd\"", &o, "", MP_CSV_ELIMIT, 1, 5);
	CHECK_STR(csv_errmsg("x\nabcdef", 8, &o),
			  "record starting on line 2 exceeds the limit of 5 bytes");
}

static void
test_csv_record_limit_one(void)
{
	MpCsvOptions o = {0};

	o.max_record_len = 1;
	CSV_OK_OPT("a\nb\n,\n", &o, "L1@0#1: ua\nL2@2#2: ub\nL3@4#3: u u\n");
	CSV_ERR_OPT("a\nb\n\"\n", &o, "L1@0#1: ua\nL2@2#2: ub\n", MP_CSV_ELIMIT, 3, 5);
	/* a partial BOM replayed as data also obeys the limit */
	CSV_ERR_OPT("\xef\xbb", &o, "", MP_CSV_ELIMIT, 1, 1);
}

static void
test_csv_max_fields(void)
{
	MpCsvOptions o = {0};

	o.max_fields = 3;
	CSV_OK_OPT("a,b,c\n,,\n", &o, "L1@0#1: ua ub uc\nL2@6#2: u u u\n");
	CSV_ERR_OPT("a,b,c\na,b,c,\n", &o, "L1@0#1: ua ub uc\n", MP_CSV_ELIMIT, 2, 11);
	CHECK_STR(csv_errmsg(",,,", 3, &o), "record has more than 3 fields");
}

static void
test_csv_max_fields_one(void)
{
	MpCsvOptions o = {0};

	o.max_fields = 1;
	CSV_OK_OPT("a\n\"b,\"\n", &o, "L1@0#1: ua\nL2@2#2: qb,\n");
	CSV_ERR_OPT("a,", &o, "", MP_CSV_ELIMIT, 1, 1);
}

/*
 * A huge field with small limits must fail without allocating anything
 * near its size.
 */
static void
test_csv_no_allocation_beyond_limit(void)
{
	MpAlloc		a;
	UtAllocStats st;
	MpCsvOptions o = {0};
	CsvOut		out;
	MpCsvParser *p;
	size_t		n = 1 << 20;
	char	   *big = malloc(n);
	int			rc;

	memset(big, 'x', n);
	memset(&out, 0, sizeof(out));
	o.max_field_len = 1000;
	o.max_record_len = 3000;
	o.max_fields = 8;
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, &o, collect, &out);
	rc = mp_csv_feed(p, big, n);
	CHECK_INT(rc, MP_CSV_ERROR);
	CHECK_INT(mp_csv_error_code(p), MP_CSV_ELIMIT);
	CHECK_INT(mp_csv_error_offset(p), 1000);
	CHECK(st.largest <= 3001);

	/* many fields in one record: record limit first */
	mp_csv_reset(p);
	memset(big, ',', n);
	rc = mp_csv_feed(p, big, n);
	CHECK_INT(rc, MP_CSV_ERROR);
	CHECK_INT(mp_csv_error_code(p), MP_CSV_ELIMIT);
	CHECK_INT(mp_csv_error_offset(p), 7);	/* the 8th comma: field 9 */

	/* a long record of short fields stays within max_record_len + 1 */
	mp_csv_reset(p);
	{
		size_t		i;

		for (i = 0; i < n; i++)
			big[i] = (i % 400 == 399) ? ',' : 'y';
	}
	rc = mp_csv_feed(p, big, n);
	CHECK_INT(rc, MP_CSV_ERROR);
	CHECK_INT(mp_csv_error_code(p), MP_CSV_ELIMIT);
	CHECK_INT(mp_csv_error_offset(p), 3000);
	CHECK(st.largest <= 3001);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(big);
	free(out.buf);
}

/*
 * A record of exactly max_record_len raw bytes made of max_fields one-byte
 * fields needs the buffer's full max_record_len + 1 bytes (values plus one
 * NUL each): it must parse.
 */
static void
test_csv_record_exactly_at_limit_buffer(void)
{
	MpAlloc		a;
	UtAllocStats st;
	MpCsvOptions o = {0};
	CsvOut		out;
	MpCsvParser *p;
	char	   *buf = malloc(4000);
	size_t		i;

	for (i = 0; i < 3999; i++)
		buf[i] = (i % 2) ? ',' : 'z';
	buf[3999] = '\n';
	memset(&out, 0, sizeof(out));
	o.max_record_len = 3999;
	o.max_fields = 2000;
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, &o, collect, &out);
	CHECK_INT(mp_csv_feed(p, buf, 4000), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_INT(out.nrec, 1);
	CHECK_INT(out.len, strlen("L1@0#1:") + 2000 * 3 + 1);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(buf);
	free(out.buf);
}

static void
test_csv_large_field_default_limits(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	MpCsvParser *p;
	size_t		n = 3 * 1024 * 1024;
	char	   *big = malloc(n + 3);
	size_t		i;

	big[0] = '"';
	for (i = 1; i <= n; i++)
		big[i] = (char) ('a' + i % 26);
	big[n + 1] = '"';
	big[n + 2] = '\n';
	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &out);
	for (i = 0; i < n + 3; i += 16384)
		CHECK_INT(mp_csv_feed(p, big + i, (n + 3 - i) < 16384 ? n + 3 - i : 16384), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_INT(out.nrec, 1);
	CHECK_INT(out.len, strlen("L1@0#1: q") + n + 1);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(big);
	free(out.buf);
}

/* ---------------------------------------------------------------------- */
/* Options */

static void
test_csv_custom_delimiter(void)
{
	MpCsvOptions o = {0};

	o.delimiter = ';';
	CSV_OK_OPT("a;b,c;\"d;e\"\n", &o, "L1@0#1: ua ub,c qd;e\n");
	o.delimiter = '\t';
	CSV_OK_OPT("a\tb c\t\n", &o, "L1@0#1: ua ub c u\n");
	o.delimiter = (char) 0xfe;
	CSV_OK_OPT("a\xfe" "b\n", &o, "L1@0#1: ua ub\n");
}

static void
test_csv_invalid_options(void)
{
	MpAlloc		a;
	UtAllocStats st;
	MpCsvOptions o = {0};
	CsvOut		out;

	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	o.delimiter = '"';
	CHECK(mp_csv_create(&a, &o, collect, &out) == NULL);
	o.delimiter = '\n';
	CHECK(mp_csv_create(&a, &o, collect, &out) == NULL);
	o.delimiter = '\r';
	CHECK(mp_csv_create(&a, &o, collect, &out) == NULL);
	o.delimiter = ',';
	o.max_fields = -1;
	CHECK(mp_csv_create(&a, &o, collect, &out) == NULL);
	CHECK(mp_csv_create(&a, NULL, NULL, &out) == NULL);
	CHECK(mp_csv_create(NULL, NULL, collect, &out) == NULL);
	CHECK_INT(st.live, 0);
}

/* ---------------------------------------------------------------------- */
/* Callback stop, resume offsets, rewind, reset, finish */

typedef struct StopAt
{
	int			n;
	int			stop_at;
} StopAt;

static int
stop_cb(void *arg, const MpCsvRecord *rec)
{
	StopAt	   *s = arg;

	(void) rec;
	s->n++;
	return s->n == s->stop_at ? 42 : 0;
}

static void
test_csv_callback_stop(void)
{
	MpAlloc		a;
	UtAllocStats st;
	StopAt		s = {0, 2};
	MpCsvParser *p;
	const char *in = "a\r\nb\r\nc\r\n";

	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, stop_cb, &s);
	CHECK_INT(mp_csv_feed(p, in, 9), 42);
	CHECK_INT(s.n, 2);
	/* stopped right after the CR of record 2; the LF is not consumed */
	CHECK_INT(mp_csv_bytes_consumed(p), 5);
	CHECK_INT(mp_csv_resume_offset(p), 5);
	CHECK(mp_csv_error(p) == NULL);
	CHECK_INT(mp_csv_feed(p, in + 5, 4), 0);
	CHECK_INT(s.n, 3);
	CHECK_INT(mp_csv_resume_offset(p), 9);
	CHECK_INT(mp_csv_finish(p), 0);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
}

static void
test_csv_callback_stop_in_finish(void)
{
	MpAlloc		a;
	UtAllocStats st;
	StopAt		s = {0, 1};
	MpCsvParser *p;

	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, stop_cb, &s);
	CHECK_INT(mp_csv_feed(p, "x,y", 3), 0);
	CHECK_INT(mp_csv_finish(p), 42);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_INT(s.n, 1);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
}

static void
test_csv_resume_offsets(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	MpCsvParser *p;
	const char *in = "\xef\xbb\xbfh1,h2\r\n\"a\nb\",1\r\n\r\nc,2";

	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &out);
	CHECK_INT(mp_csv_resume_offset(p), 0);
	CHECK_INT(mp_csv_feed(p, in, 2), 0);
	CHECK_INT(mp_csv_bytes_consumed(p), 2);
	CHECK_INT(mp_csv_resume_offset(p), 0);
	CHECK_INT(mp_csv_feed(p, in + 2, 1), 0);
	CHECK_INT(mp_csv_resume_offset(p), 3);
	CHECK_INT(mp_csv_feed(p, in + 3, 6), 0);	/* h1,h2\r */
	CHECK_INT(mp_csv_resume_offset(p), 9);
	CHECK_INT(mp_csv_feed(p, in + 9, 4), 0);	/* \n"a\n */
	CHECK_INT(mp_csv_resume_offset(p), 10);
	CHECK_INT(mp_csv_bytes_consumed(p), 13);
	CHECK_INT(mp_csv_feed(p, in + 13, 11), 0);	/* b",1\r\n\r\nc,2 */
	CHECK_INT(mp_csv_resume_offset(p), 21);
	CHECK_INT(mp_csv_bytes_consumed(p), 24);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_INT(mp_csv_resume_offset(p), 24);
	CHECK_STR(out.buf,
			  "L1@3#1: uh1 uh2\n"
			  "L2@10#2: qa\\nb u1\n"
			  "L5@21#3: uc u2\n");
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(out.buf);
}

static void
test_csv_rewind_keeps_numbering(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	MpCsvParser *p;
	const char *in = "a\nb\nccc\nd\n";

	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &out);
	CHECK_INT(mp_csv_feed(p, in, 6), 0);	/* a\nb\ncc */
	CHECK_INT(mp_csv_rewind(p), 4);
	CHECK_INT(mp_csv_bytes_consumed(p), 4);
	CHECK_INT(mp_csv_feed(p, in + 4, 6), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_STR(out.buf,
			  "L1@0#1: ua\nL2@2#2: ub\nL3@4#3: uccc\nL4@8#4: ud\n");
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(out.buf);
}

static void
test_csv_rewind_clears_error(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	MpCsvParser *p;

	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &out);
	CHECK_INT(mp_csv_feed(p, "a\nb\"", 4), MP_CSV_ERROR);
	CHECK_INT(mp_csv_rewind(p), 2);
	CHECK(mp_csv_error(p) == NULL);
	CHECK_INT(mp_csv_feed(p, "bb\n", 3), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_STR(out.buf, "L1@0#1: ua\nL2@2#2: ubb\n");
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(out.buf);
}

static void
test_csv_rewind_after_cr(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	MpCsvParser *p;

	/* stream "a\r\nb\r\n" broken off after the first CR: LF still swallowed */
	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &out);
	CHECK_INT(mp_csv_feed(p, "a\r", 2), 0);
	CHECK_INT(mp_csv_rewind(p), 2);
	CHECK_INT(mp_csv_feed(p, "\nb\r\n", 4), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_STR(out.buf, "L1@0#1: ua\nL2@3#2: ub\n");
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(out.buf);
}

static void
test_csv_ignored_range_skip(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	MpCsvParser *p;
	const char *in = "\xef\xbb\xbfId,V\n1,\"x\ny\"\n2,z\n";
	size_t		len = strlen(in);
	uint64_t	skip;

	/* first download breaks off inside the quoted field */
	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &out);
	CHECK_INT(mp_csv_feed(p, in, 14), 0);
	skip = mp_csv_bytes_consumed(p);
	CHECK_INT(skip, 14);
	/* the retry got the whole body again: skip what was consumed */
	CHECK_INT(mp_csv_feed(p, in + skip, len - (size_t) skip), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_STR(out.buf,
			  "L1@3#1: uId uV\nL2@8#2: u1 qx\\ny\nL4@16#3: u2 uz\n");
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(out.buf);
}

static void
test_csv_reset(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	MpCsvParser *p;

	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &out);
	CHECK_INT(mp_csv_feed(p, "\xef\xbb\xbf" "a\n\"b", 6), 0);
	mp_csv_reset(p);
	CHECK_INT(mp_csv_bytes_consumed(p), 0);
	CHECK_INT(mp_csv_resume_offset(p), 0);
	CHECK_INT(mp_csv_feed(p, "\xef\xbb\xbf" "a\nb\n", 7), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_STR(out.buf, "L1@3#1: ua\nL1@3#1: ua\nL2@5#2: ub\n");
	/* reset after finish and after an error */
	mp_csv_reset(p);
	CHECK_INT(mp_csv_feed(p, "\0", 1), MP_CSV_ERROR);
	mp_csv_reset(p);
	CHECK(mp_csv_error(p) == NULL);
	CHECK_INT(mp_csv_feed(p, "q", 1), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_INT(out.nrec, 4);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(out.buf);
}

static void
test_csv_feed_after_finish(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	MpCsvParser *p;

	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &out);
	CHECK_INT(mp_csv_feed(p, "a", 1), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_INT(mp_csv_feed(p, "", 0), 0);
	CHECK_INT(mp_csv_feed(p, "b", 1), MP_CSV_ERROR);
	CHECK_INT(mp_csv_error_code(p), MP_CSV_ESTATE);
	CHECK_INT(out.nrec, 1);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	free(out.buf);
}

static void
test_csv_empty_feeds(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	MpCsvParser *p;

	memset(&out, 0, sizeof(out));
	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, collect, &out);
	CHECK_INT(mp_csv_feed(p, NULL, 0), 0);
	CHECK_INT(mp_csv_feed(p, "a", 1), 0);
	CHECK_INT(mp_csv_feed(p, "", 0), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_STR(out.buf, "L1@0#1: ua\n");
	mp_csv_destroy(p);
	mp_csv_destroy(NULL);
	CHECK_INT(st.live, 0);
	free(out.buf);
}

/* ---------------------------------------------------------------------- */
/* Memory failures */

/*
 * Fail each allocation in turn (with and without the allocator's realloc):
 * the parser reports "out of memory", leaks nothing, and after a reset
 * parses normally again.
 */
static void
test_csv_out_of_memory(void)
{
	char		in[6000];
	size_t		i;
	int			with_realloc;

	/* a record needing several buffer and field-array growths */
	for (i = 0; i < sizeof(in) - 1; i++)
		in[i] = (i % 3 == 2) ? ',' : 'm';
	in[sizeof(in) - 1] = '\n';

	for (with_realloc = 0; with_realloc < 2; with_realloc++)
	{
		long		n;

		for (n = 1; n < 40; n++)
		{
			MpAlloc		a;
			UtAllocStats st;
			CsvOut		out;
			MpCsvParser *p;
			int			rc;

			memset(&out, 0, sizeof(out));
			ut_alloc_init(&a, &st);
			if (!with_realloc)
				a.realloc = NULL;
			st.fail_at = n;
			p = mp_csv_create(&a, NULL, collect, &out);
			if (p == NULL)
			{
				CHECK_INT(st.live, 0);
				continue;
			}
			rc = mp_csv_feed(p, in, sizeof(in));
			if (rc == 0)
				rc = mp_csv_finish(p);
			if (rc != 0)
			{
				CHECK_INT(rc, MP_CSV_ERROR);
				CHECK_INT(mp_csv_error_code(p), MP_CSV_ENOMEM);
				CHECK_STR(mp_csv_error(p), "out of memory");
				CHECK_INT(out.nrec, 0);
				/* the parser is still usable after a reset */
				mp_csv_reset(p);
				CHECK_INT(mp_csv_feed(p, "a,\"b\"\n", 6), 0);
				CHECK_INT(mp_csv_finish(p), 0);
				CHECK_STR(out.buf, "L1@0#1: ua qb\n");
			}
			else
				CHECK_INT(out.nrec, 1);
			mp_csv_destroy(p);
			CHECK_INT(st.live, 0);
			CHECK_INT(st.violations, 0);
			free(out.buf);
		}
	}
}

/* Without the allocator's realloc, results are the same */
static void
test_csv_no_realloc(void)
{
	MpAlloc		a;
	UtAllocStats st;
	CsvOut		out;
	CsvRun		ref;
	MpCsvParser *p;
	size_t		n = 200000;
	char	   *in = malloc(n);
	size_t		i;

	for (i = 0; i < n; i++)
		in[i] = (i % 7 == 6) ? ',' : (i % 5001 == 5000) ? '\n' : (char) ('a' + i % 26);
	csv_run(in, n, NULL, MODE_WHOLE, 0, 0, &ref);
	memset(&out, 0, sizeof(out));
	out_puts(&out, "");
	ut_alloc_init(&a, &st);
	a.realloc = NULL;
	p = mp_csv_create(&a, NULL, collect, &out);
	CHECK(p != NULL);
	for (i = 0; i < n; i += 999)
		CHECK_INT(mp_csv_feed(p, in + i, n - i < 999 ? n - i : 999), 0);
	CHECK_INT(mp_csv_finish(p), 0);
	CHECK_INT(ref.rc, 0);
	CHECK(strcmp(out.buf, ref.out.buf) == 0);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
	CHECK_INT(st.violations, 0);
	csv_run_free(&ref);
	free(out.buf);
	free(in);
}

/* ---------------------------------------------------------------------- */
/* Header helper */

static int
header_cb(void *arg, const MpCsvRecord *rec)
{
	int		   *idx = arg;

	idx[0] = mp_csv_field_index(rec, "TransactionId", false);
	idx[1] = mp_csv_field_index(rec, "creationdate:iso", true);
	idx[2] = mp_csv_field_index(rec, "creationdate:iso", false);
	idx[3] = mp_csv_field_index(rec, "Missing", true);
	idx[4] = mp_csv_field_index(rec, "", false);
	return 1;
}

static void
test_csv_field_index(void)
{
	MpAlloc		a;
	UtAllocStats st;
	MpCsvParser *p;
	int			idx[5] = {0};
	const char *hdr = "\xef\xbb\xbf" "ClientId,TransactionId,CreationDate:ISO,\"\",TransactionId\r\n";

	ut_alloc_init(&a, &st);
	p = mp_csv_create(&a, NULL, header_cb, idx);
	CHECK_INT(mp_csv_feed(p, hdr, strlen(hdr)), 1);
	CHECK_INT(idx[0], 1);
	CHECK_INT(idx[1], 2);
	CHECK_INT(idx[2], -1);
	CHECK_INT(idx[3], -1);
	CHECK_INT(idx[4], 3);
	mp_csv_destroy(p);
	CHECK_INT(st.live, 0);
}

/* ---------------------------------------------------------------------- */
/* Bigger streams */

/*
 * A deterministic pseudo-random CSV stream of many records with every
 * quirk, parsed whole and in random chunk sizes: identical output.
 */
static void
test_csv_random_stream_chunks(void)
{
	static const char *pieces[] = {
		"abc", "\"q,1\"", "\"\"", "", "\"x\"\"y\"", "\"l1\r\nl2\"", "\xc3\xa9t\xc3\xa9",
		"\"\n\"", "12345", " sp "
	};
	static const char *ends[] = {"\n", "\r\n", "\r", "\n\n", "\r\n\r\n"};
	size_t		cap = 1 << 20;
	char	   *in = malloc(cap);
	size_t		len = 3;
	uint32_t	seed = 12345;
	int			rec;
	CsvRun		whole;
	int			round;

	memcpy(in, "\xef\xbb\xbf", 3);
	for (rec = 0; rec < 5000; rec++)
	{
		int			nf = 1 + (int) ((seed >> 8) % 5);
		int			f;

		for (f = 0; f < nf; f++)
		{
			const char *pc;

			seed = seed * 1103515245u + 12345u;
			pc = pieces[(seed >> 16) % 10];
			if (f > 0)
				in[len++] = ',';
			memcpy(in + len, pc, strlen(pc));
			len += strlen(pc);
		}
		seed = seed * 1103515245u + 12345u;
		{
			const char *e = ends[(seed >> 16) % 5];

			memcpy(in + len, e, strlen(e));
			len += strlen(e);
		}
	}

	csv_run(in, len, NULL, MODE_WHOLE, 0, 0, &whole);
	CHECK_INT(whole.rc, 0);
	CHECK(whole.out.nrec >= 4500);
	CHECK_INT(whole.consumed, len);
	for (round = 0; round < 20; round++)
	{
		MpAlloc		a;
		UtAllocStats st;
		CsvOut		out;
		MpCsvParser *p;
		size_t		pos = 0;
		int			rc = 0;

		memset(&out, 0, sizeof(out));
		out_puts(&out, "");
		ut_alloc_init(&a, &st);
		p = mp_csv_create(&a, NULL, collect, &out);
		while (pos < len && rc == 0)
		{
			size_t		n;

			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % (round < 10 ? 7 : 3000);
			if (n > len - pos)
				n = len - pos;
			rc = mp_csv_feed(p, in + pos, n);
			pos += n;
		}
		CHECK_INT(rc, 0);
		CHECK_INT(mp_csv_finish(p), 0);
		CHECK_INT(out.nrec, whole.out.nrec);
		CHECK(strcmp(out.buf, whole.out.buf) == 0);
		mp_csv_destroy(p);
		CHECK_INT(st.live, 0);
		free(out.buf);
	}
	csv_run_free(&whole);
	free(in);
}

/* A MangoPay-like report with a header and a few thousand rows */
static void
test_csv_report_like(void)
{
	size_t		cap = 1 << 20;
	char	   *in = malloc(cap);
	size_t		len = 0;
	int			i;
	CsvRun		whole;
	CsvRun		bytes;

	len += (size_t) snprintf(in + len, cap - len,
							 "\xef\xbb\xbf" "ClientId,TransactionId,CreationDate,DebitedFundsAmount,Tag\r\n");
	for (i = 0; i < 3000; i++)
		len += (size_t) snprintf(in + len, cap - len,
								 "client,%d,%d,%d,\"tag, \"\"%d\"\"\"\r\n",
								 1000 + i, 1715241060 + i, i * 7, i);
	csv_run(in, len, NULL, MODE_WHOLE, 0, 0, &whole);
	csv_run(in, len, NULL, MODE_BYTES, 0, 0, &bytes);
	CHECK_INT(whole.rc, 0);
	CHECK_INT(whole.out.nrec, 3001);
	CHECK(same_run(&whole, &bytes));
	CHECK(strstr(whole.out.buf, "L3001@") != NULL);
	CHECK(strstr(whole.out.buf, " qtag, \"2999\"\n") != NULL);
	csv_run_free(&whole);
	csv_run_free(&bytes);
	free(in);
}

const UtTest csv_tests[] = {
	{"csv_simple_lf", test_csv_simple_lf},
	{"csv_crlf", test_csv_crlf},
	{"csv_lone_cr", test_csv_lone_cr},
	{"csv_mixed_line_ends", test_csv_mixed_line_ends},
	{"csv_no_trailing_newline", test_csv_no_trailing_newline},
	{"csv_report_shapes", test_csv_report_shapes},
	{"csv_finish_delivers_last_record", test_csv_finish_delivers_last_record},
	{"csv_empty_input", test_csv_empty_input},
	{"csv_only_newlines", test_csv_only_newlines},
	{"csv_single_field", test_csv_single_field},
	{"csv_trailing_delimiter", test_csv_trailing_delimiter},
	{"csv_whitespace_kept", test_csv_whitespace_kept},
	{"csv_utf8_passthrough", test_csv_utf8_passthrough},
	{"csv_quoted_delimiter", test_csv_quoted_delimiter},
	{"csv_doubled_quotes", test_csv_doubled_quotes},
	{"csv_doubled_quote_at_end", test_csv_doubled_quote_at_end},
	{"csv_quoted_newlines", test_csv_quoted_newlines},
	{"csv_quoted_cr_then_quote_then_lf", test_csv_quoted_cr_then_quote_then_lf},
	{"csv_quoted_only_newlines", test_csv_quoted_only_newlines},
	{"csv_quoted_vs_unquoted_empty", test_csv_quoted_vs_unquoted_empty},
	{"csv_quoted_at_eof", test_csv_quoted_at_eof},
	{"csv_quoted_empty_at_eof", test_csv_quoted_empty_at_eof},
	{"csv_delimiter_only", test_csv_delimiter_only},
	{"csv_bom_skipped", test_csv_bom_skipped},
	{"csv_bom_only", test_csv_bom_only},
	{"csv_bom_then_blank", test_csv_bom_then_blank},
	{"csv_partial_bom_is_data", test_csv_partial_bom_is_data},
	{"csv_bom_not_skipped_later", test_csv_bom_not_skipped_later},
	{"csv_bom_then_quote", test_csv_bom_then_quote},
	{"csv_blank_lines_skipped", test_csv_blank_lines_skipped},
	{"csv_nul_unquoted", test_csv_nul_unquoted},
	{"csv_nul_quoted", test_csv_nul_quoted},
	{"csv_nul_line_start", test_csv_nul_line_start},
	{"csv_nul_message", test_csv_nul_message},
	{"csv_unexpected_quote", test_csv_unexpected_quote},
	{"csv_char_after_closing_quote", test_csv_char_after_closing_quote},
	{"csv_unterminated_quote", test_csv_unterminated_quote},
	{"csv_error_line_after_multiline_field", test_csv_error_line_after_multiline_field},
	{"csv_error_is_sticky", test_csv_error_is_sticky},
	{"csv_field_limit_exact", test_csv_field_limit_exact},
	{"csv_field_limit_over", test_csv_field_limit_over},
	{"csv_record_limit", test_csv_record_limit},
	{"csv_record_limit_one", test_csv_record_limit_one},
	{"csv_max_fields", test_csv_max_fields},
	{"csv_max_fields_one", test_csv_max_fields_one},
	{"csv_no_allocation_beyond_limit", test_csv_no_allocation_beyond_limit},
	{"csv_record_exactly_at_limit_buffer", test_csv_record_exactly_at_limit_buffer},
	{"csv_large_field_default_limits", test_csv_large_field_default_limits},
	{"csv_custom_delimiter", test_csv_custom_delimiter},
	{"csv_invalid_options", test_csv_invalid_options},
	{"csv_callback_stop", test_csv_callback_stop},
	{"csv_callback_stop_in_finish", test_csv_callback_stop_in_finish},
	{"csv_resume_offsets", test_csv_resume_offsets},
	{"csv_rewind_keeps_numbering", test_csv_rewind_keeps_numbering},
	{"csv_rewind_clears_error", test_csv_rewind_clears_error},
	{"csv_rewind_after_cr", test_csv_rewind_after_cr},
	{"csv_ignored_range_skip", test_csv_ignored_range_skip},
	{"csv_reset", test_csv_reset},
	{"csv_feed_after_finish", test_csv_feed_after_finish},
	{"csv_empty_feeds", test_csv_empty_feeds},
	{"csv_out_of_memory", test_csv_out_of_memory},
	{"csv_no_realloc", test_csv_no_realloc},
	{"csv_field_index", test_csv_field_index},
	{"csv_random_stream_chunks", test_csv_random_stream_chunks},
	{"csv_report_like", test_csv_report_like},
	{NULL, NULL}
};
