/*-------------------------------------------------------------------------
 *
 * csv.c
 *	  Incremental RFC 4180 CSV parser (see csv.h for the accepted syntax).
 *
 * The parser is a byte-driven state machine whose whole state lives in the
 * MpCsvParser, so a chunk may end anywhere and the next chunk simply goes
 * on.  Runs of ordinary bytes inside a field are copied in one go; that
 * fast path is bounded so that limits trip at exactly the same byte as in
 * the byte-at-a-time path, which keeps results (and error positions)
 * independent of how the input was split.
 *
 * The record being built is kept as one buffer holding every field's bytes,
 * each followed by a NUL, plus an array of (offset, length, quoted).  The
 * buffer never grows past max_record_len + 1 bytes and the field array past
 * max_fields entries: a raw record of n bytes decodes to at most n bytes of
 * values plus one NUL per delimiter and one more, and the limits are checked
 * before anything is appended.
 *
 * src/csv.c
 *
 *-------------------------------------------------------------------------
 */
#include "csv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef enum CsvState
{
	CS_BOM,						/* at stream start, matching the UTF-8 BOM */
	CS_REC_START,				/* between records */
	CS_AFTER_CR,				/* after a CR line end: swallow one LF */
	CS_FIELD_START,				/* at the start of a field (record begun) */
	CS_UNQUOTED,				/* inside an unquoted field */
	CS_QUOTED,					/* inside a quoted field */
	CS_QUOTE_SEEN,				/* after a '"' inside a quoted field */
	CS_FINISHED,				/* mp_csv_finish() was called */
	CS_ERROR					/* an error happened; see errmsg */
} CsvState;

typedef struct CsvFieldPos
{
	size_t		off;			/* offset of the value in buf */
	size_t		len;			/* its length */
	bool		quoted;
} CsvFieldPos;

struct MpCsvParser
{
	MpAlloc		a;
	MpCsvRecordFn fn;
	void	   *arg;

	/* options, defaults applied */
	unsigned char delim;
	/* bytes that end a run of plain bytes: [0] unquoted, [1] quoted */
	bool		stop[2][256];
	size_t		max_field_len;
	size_t		max_record_len;
	int			max_fields;

	/* position */
	CsvState	state;
	int			bom_pos;		/* BOM bytes matched (state CS_BOM only) */
	bool		qcr;			/* quoted field: previous byte was CR */
	uint64_t	pos;			/* stream offset of the next byte */
	uint64_t	line;			/* current physical line, 1-based */
	uint64_t	recno;			/* records delivered so far */
	uint64_t	qline;			/* line where the open quoted field began */

	/* the record being built */
	uint64_t	rec_offset;
	uint64_t	rec_line;
	char	   *buf;
	size_t		buflen;
	size_t		bufcap;
	CsvFieldPos *fpos;
	MpCsvField *fpub;			/* filled just before the callback */
	int			nfields;
	int			fcap;

	/* the point just past the last complete record (see mp_csv_rewind) */
	uint64_t	safe_pos;
	uint64_t	safe_line;
	uint64_t	safe_recno;
	CsvState	safe_state;

	/* the error, if state == CS_ERROR */
	MpCsvErrorCode errcode;
	uint64_t	errline;
	uint64_t	erroffset;
	char		errmsg[128];
};

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

#define CSV_INITIAL_BUF		1024
#define CSV_INITIAL_FIELDS	32

/*
 * csv_fail
 *		Record an error and put the parser in the error state.
 *
 * The stream position is moved back to the offending byte so that
 * mp_csv_bytes_consumed() reports where parsing stopped.  Always returns
 * MP_CSV_ERROR, so callers can "return csv_fail(...)".
 */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static int
csv_fail(MpCsvParser *p, MpCsvErrorCode code, uint64_t line, uint64_t off,
		 const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(p->errmsg, sizeof(p->errmsg), fmt, ap);
	va_end(ap);
	p->errcode = code;
	p->errline = line;
	p->erroffset = off;
	p->pos = off;
	p->state = CS_ERROR;
	return MP_CSV_ERROR;
}

/*
 * csv_set_safe
 *		Remember that everything before offset "off" has been delivered.
 *
 * Called at every record end and blank line with the state that parsing
 * from "off" must start in (CS_AFTER_CR after a CR, so that a following LF
 * is still swallowed).
 */
static void
csv_set_safe(MpCsvParser *p, uint64_t off)
{
	p->safe_pos = off;
	p->safe_line = p->line;
	p->safe_recno = p->recno;
	p->safe_state = p->state;
}

/*
 * csv_grow
 *		Resize a block from oldsize to newsize bytes through the allocator.
 *
 * Uses the allocator's realloc when it has one, else alloc + copy + free
 * (for allocators without a non-throwing realloc, such as palloc before
 * PostgreSQL 16).  On failure the old block is left as it was.
 */
static void *
csv_grow(MpCsvParser *p, void *ptr, size_t oldsize, size_t newsize)
{
	void	   *n;

	if (ptr == NULL)
		return p->a.alloc(p->a.ctx, newsize);
	if (p->a.realloc != NULL)
		return p->a.realloc(p->a.ctx, ptr, newsize);
	n = p->a.alloc(p->a.ctx, newsize);
	if (n == NULL)
		return NULL;
	memcpy(n, ptr, oldsize);
	p->a.free(p->a.ctx, ptr);
	return n;
}

/*
 * csv_reserve
 *		Make room for "need" bytes in the record buffer.
 *
 * Growth doubles but never exceeds max_record_len + 1, the most a record
 * within the limit can need; the limit checks run before this is called,
 * so hitting that ceiling is a bug guard only.
 */
static int
csv_reserve(MpCsvParser *p, size_t need, uint64_t off)
{
	size_t		ceiling = p->max_record_len + 1;
	size_t		newcap;
	char	   *nb;

	if (need <= p->bufcap)
		return 0;
	if (need > ceiling)
		return csv_fail(p, MP_CSV_ELIMIT, p->line, off,
						"record exceeds the limit of %zu bytes",
						p->max_record_len);
	newcap = p->bufcap ? p->bufcap : CSV_INITIAL_BUF;
	while (newcap < need)
		newcap = (newcap > ceiling / 2) ? ceiling : newcap * 2;
	if (newcap > ceiling)
		newcap = ceiling;
	nb = csv_grow(p, p->buf, p->buflen, newcap);
	if (nb == NULL)
		return csv_fail(p, MP_CSV_ENOMEM, p->line, off, "out of memory");
	p->buf = nb;
	p->bufcap = newcap;
	return 0;
}

/*
 * csv_push_field
 *		Start a new, empty field in the current record.
 *
 * Fails with a limit error if the record already has max_fields fields;
 * the field arrays grow by doubling up to max_fields entries.
 */
static int
csv_push_field(MpCsvParser *p, uint64_t off)
{
	CsvFieldPos *f;

	if (p->nfields >= p->max_fields)
		return csv_fail(p, MP_CSV_ELIMIT, p->line, off,
						"record has more than %d fields", p->max_fields);
	if (p->nfields == p->fcap)
	{
		int			newcap;
		CsvFieldPos *np;
		MpCsvField *npub;

		if (p->fcap == 0)
			newcap = CSV_INITIAL_FIELDS;
		else if (p->fcap > p->max_fields / 2)
			newcap = p->max_fields;
		else
			newcap = p->fcap * 2;
		if (newcap > p->max_fields)
			newcap = p->max_fields;

		/*
		 * fpub holds nothing between records, so it is simply replaced.
		 * Both new blocks are obtained before anything is changed, so a
		 * failure leaves the parser's arrays consistent.
		 */
		npub = p->a.alloc(p->a.ctx, sizeof(MpCsvField) * (size_t) newcap);
		if (npub == NULL)
			return csv_fail(p, MP_CSV_ENOMEM, p->line, off, "out of memory");
		np = csv_grow(p, p->fpos, sizeof(CsvFieldPos) * (size_t) p->fcap,
					  sizeof(CsvFieldPos) * (size_t) newcap);
		if (np == NULL)
		{
			p->a.free(p->a.ctx, npub);
			return csv_fail(p, MP_CSV_ENOMEM, p->line, off, "out of memory");
		}
		if (p->fpub != NULL)
			p->a.free(p->a.ctx, p->fpub);
		p->fpos = np;
		p->fpub = npub;
		p->fcap = newcap;
	}
	f = &p->fpos[p->nfields++];
	f->off = p->buflen;
	f->len = 0;
	f->quoted = false;
	return 0;
}

/*
 * csv_check_record
 *		Fail if accepting n more raw bytes starting at "off" would make the
 *		current record longer than max_record_len.
 */
static int
csv_check_record(MpCsvParser *p, uint64_t off, size_t n)
{
	if (off + n - p->rec_offset > p->max_record_len)
		return csv_fail(p, MP_CSV_ELIMIT, p->line, off,
						"record starting on line %" PRIu64
						" exceeds the limit of %zu bytes",
						p->rec_line, p->max_record_len);
	return 0;
}

/*
 * csv_append
 *		Append n value bytes to the current field, enforcing max_field_len.
 */
static int
csv_append(MpCsvParser *p, const unsigned char *s, size_t n, uint64_t off)
{
	CsvFieldPos *f = &p->fpos[p->nfields - 1];

	if (n > p->max_field_len - f->len)
		return csv_fail(p, MP_CSV_ELIMIT, p->line, off,
						"field %d exceeds the limit of %zu bytes",
						p->nfields, p->max_field_len);
	if (csv_reserve(p, p->buflen + n, off) != 0)
		return MP_CSV_ERROR;
	memcpy(p->buf + p->buflen, s, n);
	p->buflen += n;
	f->len += n;
	return 0;
}

/*
 * csv_end_field
 *		NUL-terminate the current field's value in the buffer.
 */
static int
csv_end_field(MpCsvParser *p, uint64_t off)
{
	if (csv_reserve(p, p->buflen + 1, off) != 0)
		return MP_CSV_ERROR;
	p->buf[p->buflen++] = '\0';
	return 0;
}

/*
 * csv_start_record
 *		Begin a record at stream offset "off" with one empty field.
 */
static int
csv_start_record(MpCsvParser *p, uint64_t off)
{
	p->rec_offset = off;
	p->rec_line = p->line;
	p->buflen = 0;
	p->nfields = 0;
	return csv_push_field(p, off);
}

/*
 * csv_emit
 *		Deliver the completed record to the callback.
 *
 * The resume point is moved first, so that a callback that stops parsing
 * leaves the parser exactly after this record.
 */
static int
csv_emit(MpCsvParser *p, uint64_t next_off)
{
	MpCsvRecord rec;
	int			i;

	for (i = 0; i < p->nfields; i++)
	{
		p->fpub[i].data = p->buf + p->fpos[i].off;
		p->fpub[i].len = p->fpos[i].len;
		p->fpub[i].quoted = p->fpos[i].quoted;
	}
	p->recno++;
	csv_set_safe(p, next_off);

	rec.fields = p->fpub;
	rec.nfields = p->nfields;
	rec.line = p->rec_line;
	rec.offset = p->rec_offset;
	rec.recno = p->recno;
	return p->fn(p->arg, &rec);
}

/*
 * csv_end_record
 *		The record ends with line-end byte c (CR or LF) at offset off.
 */
static int
csv_end_record(MpCsvParser *p, unsigned char c, uint64_t off)
{
	if (csv_end_field(p, off) != 0)
		return MP_CSV_ERROR;
	p->line++;
	p->state = (c == '\r') ? CS_AFTER_CR : CS_REC_START;
	return csv_emit(p, off + 1);
}

/*
 * csv_next_field
 *		A delimiter at offset off ends the current field.
 */
static int
csv_next_field(MpCsvParser *p, uint64_t off)
{
	if (csv_check_record(p, off, 1) != 0 ||
		csv_end_field(p, off) != 0 ||
		csv_push_field(p, off) != 0)
		return MP_CSV_ERROR;
	p->state = CS_FIELD_START;
	return 0;
}

/*
 * csv_byte
 *		Run one byte through the state machine (any state but CS_BOM,
 *		CS_FINISHED and CS_ERROR).
 *
 * Returns 0, MP_CSV_ERROR, or the record callback's non-zero result.
 */
static int
csv_byte(MpCsvParser *p, unsigned char c)
{
	uint64_t	off = p->pos++;

	if (c == '\0')
		return csv_fail(p, MP_CSV_EFORMAT, p->line, off, "NUL byte in data");

	/* between records: swallow the LF of a CRLF, skip blank lines */
	if (p->state == CS_AFTER_CR)
	{
		p->state = CS_REC_START;
		if (c == '\n')
		{
			csv_set_safe(p, off + 1);
			return 0;
		}
	}
	if (p->state == CS_REC_START)
	{
		if (c == '\r' || c == '\n')
		{
			/* a blank line */
			p->line++;
			p->state = (c == '\r') ? CS_AFTER_CR : CS_REC_START;
			csv_set_safe(p, off + 1);
			return 0;
		}
		if (csv_start_record(p, off) != 0)
			return MP_CSV_ERROR;
		p->state = CS_FIELD_START;
	}

	switch (p->state)
	{
		case CS_FIELD_START:
			if (c == '\r' || c == '\n')
				return csv_end_record(p, c, off);
			if (c == p->delim)
				return csv_next_field(p, off);
			if (csv_check_record(p, off, 1) != 0)
				return MP_CSV_ERROR;
			if (c == '"')
			{
				p->fpos[p->nfields - 1].quoted = true;
				p->state = CS_QUOTED;
				p->qcr = false;
				p->qline = p->line;
				return 0;
			}
			p->state = CS_UNQUOTED;
			return csv_append(p, &c, 1, off);

		case CS_UNQUOTED:
			if (c == '\r' || c == '\n')
				return csv_end_record(p, c, off);
			if (c == p->delim)
				return csv_next_field(p, off);
			if (c == '"')
				return csv_fail(p, MP_CSV_EFORMAT, p->line, off,
								"unexpected quote in unquoted field %d",
								p->nfields);
			if (csv_check_record(p, off, 1) != 0)
				return MP_CSV_ERROR;
			return csv_append(p, &c, 1, off);

		case CS_QUOTED:
			if (csv_check_record(p, off, 1) != 0)
				return MP_CSV_ERROR;
			if (c == '"')
			{
				p->state = CS_QUOTE_SEEN;
				p->qcr = false;
				return 0;
			}
			if (csv_append(p, &c, 1, off) != 0)
				return MP_CSV_ERROR;
			/* count physical lines inside the value; CRLF is one */
			if (c == '\r')
				p->line++;
			else if (c == '\n' && !p->qcr)
				p->line++;
			p->qcr = (c == '\r');
			return 0;

		case CS_QUOTE_SEEN:
			if (c == '\r' || c == '\n')
				return csv_end_record(p, c, off);
			if (c == p->delim)
				return csv_next_field(p, off);
			if (c == '"')
			{
				/* a doubled quote: one literal quote */
				if (csv_check_record(p, off, 1) != 0)
					return MP_CSV_ERROR;
				p->state = CS_QUOTED;
				return csv_append(p, &c, 1, off);
			}
			return csv_fail(p, MP_CSV_EFORMAT, p->line, off,
							"unexpected character after closing quote of field %d",
							p->nfields);

		case CS_BOM:
		case CS_REC_START:
		case CS_AFTER_CR:
		case CS_FINISHED:
		case CS_ERROR:
			break;
	}
	return csv_fail(p, MP_CSV_ESTATE, p->line, off, "internal parser state error");
}

/*
 * csv_unbom
 *		The stream did not start with a full BOM: parse the bytes that
 *		looked like its beginning as ordinary data.
 */
static int
csv_unbom(MpCsvParser *p)
{
	int			n = p->bom_pos;
	int			i;

	p->bom_pos = 0;
	p->state = CS_REC_START;
	for (i = 0; i < n; i++)
	{
		int			rc = csv_byte(p, utf8_bom[i]);

		/* BOM bytes cannot end a record, so rc is 0 or an error */
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * csv_run_length
 *		Length of the run of ordinary value bytes at s[0..len) in the
 *		current (quoted or unquoted) field, cut so that neither limit is
 *		crossed inside the run: the byte that would cross it is left to
 *		csv_byte(), which reports the error at the exact same place.
 */
static size_t
csv_run_length(const MpCsvParser *p, const unsigned char *s, size_t len)
{
	const bool *stop = p->stop[p->state == CS_UNQUOTED ? 0 : 1];
	size_t		n = 0;
	size_t		room_rec;
	size_t		room_field;

	while (n < len && !stop[s[n]])
		n++;

	room_rec = p->max_record_len - (size_t) (p->pos - p->rec_offset);
	room_field = p->max_field_len - p->fpos[p->nfields - 1].len;
	if (n > room_rec)
		n = room_rec;
	if (n > room_field)
		n = room_field;
	return n;
}

/*
 * mp_csv_create
 *		Allocate a parser with the given options (NULL = defaults) that
 *		reports records to fn(arg, rec).
 */
MpCsvParser *
mp_csv_create(const MpAlloc *a, const MpCsvOptions *opt, MpCsvRecordFn fn,
			  void *arg)
{
	MpCsvParser *p;
	MpCsvOptions o;

	if (a == NULL || a->alloc == NULL || a->free == NULL || fn == NULL)
		return NULL;
	if (opt)
		o = *opt;
	else
		memset(&o, 0, sizeof(o));

	if (o.delimiter == '\0')
		o.delimiter = MP_CSV_DEFAULT_DELIMITER;
	if (o.delimiter == '"' || o.delimiter == '\r' || o.delimiter == '\n')
		return NULL;
	if (o.max_fields < 0)
		return NULL;
	if (o.max_fields == 0)
		o.max_fields = MP_CSV_DEFAULT_MAX_FIELDS;
	if (o.max_field_len == 0)
		o.max_field_len = MP_CSV_DEFAULT_MAX_FIELD_LEN;
	if (o.max_record_len == 0)
		o.max_record_len = MP_CSV_DEFAULT_MAX_RECORD_LEN;
	/* keep max_record_len + 1 and friends from overflowing */
	if (o.max_record_len > SIZE_MAX / 4)
		o.max_record_len = SIZE_MAX / 4;
	if (o.max_field_len > SIZE_MAX / 4)
		o.max_field_len = SIZE_MAX / 4;

	p = a->alloc(a->ctx, sizeof(MpCsvParser));
	if (p == NULL)
		return NULL;
	memset(p, 0, sizeof(MpCsvParser));
	p->a = *a;
	p->fn = fn;
	p->arg = arg;
	p->delim = (unsigned char) o.delimiter;
	for (int q = 0; q < 2; q++)
	{
		p->stop[q]['"'] = p->stop[q]['\r'] = p->stop[q]['\n'] = p->stop[q]['\0'] = true;
		if (q == 0)
			p->stop[q][p->delim] = true;
	}
	p->max_field_len = o.max_field_len;
	p->max_record_len = o.max_record_len;
	p->max_fields = o.max_fields;
	mp_csv_reset(p);
	return p;
}

/*
 * mp_csv_feed
 *		Parse the next chunk of the stream (see csv.h).
 */
int
mp_csv_feed(MpCsvParser *p, const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *) data;
	size_t		i = 0;

	if (p->state == CS_ERROR)
		return MP_CSV_ERROR;
	if (p->state == CS_FINISHED)
	{
		if (len == 0)
			return 0;
		return csv_fail(p, MP_CSV_ESTATE, p->line, p->pos,
						"data after the end of the stream");
	}

	while (i < len)
	{
		int			rc;

		if (p->state == CS_BOM)
		{
			if (s[i] == utf8_bom[p->bom_pos])
			{
				i++;
				if (++p->bom_pos == 3)
				{
					p->bom_pos = 0;
					p->pos = 3;
					p->state = CS_REC_START;
					csv_set_safe(p, 3);
				}
				continue;
			}
			if (csv_unbom(p) != 0)
				return MP_CSV_ERROR;
			/* s[i] is processed below, in the new state */
		}

		/*
		 * A plain byte at a field's start begins an unquoted field: it is
		 * read with the run below, through the same limit checks.
		 */
		if (p->state == CS_FIELD_START && !p->stop[0][s[i]])
			p->state = CS_UNQUOTED;
		if (p->state == CS_UNQUOTED || p->state == CS_QUOTED)
		{
			size_t		n = csv_run_length(p, s + i, len - i);

			if (n > 0)
			{
				if (csv_append(p, s + i, n, p->pos) != 0)
					return MP_CSV_ERROR;
				p->pos += n;
				p->qcr = false;
				i += n;
				continue;
			}
		}

		/*
		 * A delimiter that ends a field where csv_next_field() would neither
		 * fail nor grow an array: the same steps, without the calls.
		 */
		if (s[i] == p->delim &&
			(p->state == CS_UNQUOTED || p->state == CS_FIELD_START ||
			 p->state == CS_QUOTE_SEEN) &&
			p->pos + 1 - p->rec_offset <= p->max_record_len &&
			p->buflen < p->bufcap && p->nfields < p->fcap && p->nfields < p->max_fields)
		{
			CsvFieldPos *f;

			p->pos++;
			p->buf[p->buflen++] = '\0';
			f = &p->fpos[p->nfields++];
			f->off = p->buflen;
			f->len = 0;
			f->quoted = false;
			p->state = CS_FIELD_START;
			i++;
			continue;
		}
		rc = csv_byte(p, s[i]);
		if (rc == MP_CSV_ERROR && p->state == CS_ERROR)
			return MP_CSV_ERROR;
		i++;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * mp_csv_finish
 *		End of stream: flush a record without a line end (see csv.h).
 */
int
mp_csv_finish(MpCsvParser *p)
{
	if (p->state == CS_ERROR)
		return MP_CSV_ERROR;
	if (p->state == CS_FINISHED)
		return 0;

	if (p->state == CS_BOM && csv_unbom(p) != 0)
		return MP_CSV_ERROR;

	switch (p->state)
	{
		case CS_QUOTED:
			return csv_fail(p, MP_CSV_EFORMAT, p->qline, p->pos,
							"unterminated quoted field %d", p->nfields);

		case CS_FIELD_START:
		case CS_UNQUOTED:
		case CS_QUOTE_SEEN:
			if (csv_end_field(p, p->pos) != 0)
				return MP_CSV_ERROR;
			p->state = CS_FINISHED;
			return csv_emit(p, p->pos);

		default:
			p->state = CS_FINISHED;
			return 0;
	}
}

/*
 * mp_csv_error and friends
 *		Describe the error that stopped the parser, if any.
 */
const char *
mp_csv_error(const MpCsvParser *p)
{
	return p->state == CS_ERROR ? p->errmsg : NULL;
}

MpCsvErrorCode
mp_csv_error_code(const MpCsvParser *p)
{
	return p->state == CS_ERROR ? p->errcode : MP_CSV_OK;
}

uint64_t
mp_csv_error_line(const MpCsvParser *p)
{
	return p->state == CS_ERROR ? p->errline : 0;
}

uint64_t
mp_csv_error_offset(const MpCsvParser *p)
{
	return p->state == CS_ERROR ? p->erroffset : 0;
}

/*
 * mp_csv_bytes_consumed
 *		Stream bytes accepted so far (a partly matched BOM included).
 */
uint64_t
mp_csv_bytes_consumed(const MpCsvParser *p)
{
	return p->state == CS_BOM ? (uint64_t) p->bom_pos : p->pos;
}

/*
 * mp_csv_resume_offset
 *		Offset just past the last complete record.
 */
uint64_t
mp_csv_resume_offset(const MpCsvParser *p)
{
	return p->safe_pos;
}

/*
 * mp_csv_rewind
 *		Go back to the resume offset, dropping any partial record.
 */
uint64_t
mp_csv_rewind(MpCsvParser *p)
{
	/* a record flushed by mp_csv_finish() leaves the stream between records */
	p->state = (p->safe_state == CS_FINISHED) ? CS_REC_START : p->safe_state;
	p->pos = p->safe_pos;
	p->line = p->safe_line;
	p->recno = p->safe_recno;
	p->bom_pos = 0;
	p->qcr = false;
	p->nfields = 0;
	p->buflen = 0;
	p->errcode = MP_CSV_OK;
	p->errmsg[0] = '\0';
	return p->safe_pos;
}

/*
 * mp_csv_reset
 *		Back to the start of a new stream; buffers are kept for reuse.
 */
void
mp_csv_reset(MpCsvParser *p)
{
	p->safe_state = CS_BOM;
	p->safe_pos = 0;
	p->safe_line = 1;
	p->safe_recno = 0;
	(void) mp_csv_rewind(p);
}

/*
 * mp_csv_destroy
 *		Free the parser and its buffers.
 */
void
mp_csv_destroy(MpCsvParser *p)
{
	MpAlloc		a;

	if (p == NULL)
		return;
	a = p->a;
	if (p->buf)
		a.free(a.ctx, p->buf);
	if (p->fpos)
		a.free(a.ctx, p->fpos);
	if (p->fpub)
		a.free(a.ctx, p->fpub);
	a.free(a.ctx, p);
}

/*
 * mp_csv_field_index
 *		Position of the field equal to name in rec (e.g. a header), or -1.
 */
int
mp_csv_field_index(const MpCsvRecord *rec, const char *name, bool nocase)
{
	size_t		nlen = strlen(name);
	int			i;

	for (i = 0; i < rec->nfields; i++)
	{
		const MpCsvField *f = &rec->fields[i];
		size_t		k;

		if (f->len != nlen)
			continue;
		if (!nocase)
		{
			if (memcmp(f->data, name, nlen) == 0)
				return i;
			continue;
		}
		for (k = 0; k < nlen; k++)
		{
			unsigned char x = (unsigned char) f->data[k];
			unsigned char y = (unsigned char) name[k];

			if (x >= 'A' && x <= 'Z')
				x = (unsigned char) (x - 'A' + 'a');
			if (y >= 'A' && y <= 'Z')
				y = (unsigned char) (y - 'A' + 'a');
			if (x != y)
				break;
		}
		if (k == nlen)
			return i;
	}
	return -1;
}
