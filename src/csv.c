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
 * The parser object (creation, errors, rewind, reset) is in csv_parser.c;
 * its layout, shared by both, in csv_int.h.
 *
 * src/csv.c
 *
 *-------------------------------------------------------------------------
 */
#include "csv_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

	/*
	 * Eight bytes at a time while none of them can be a stop byte (a quote,
	 * CR, LF, NUL and, outside quotes, the delimiter): a word with a zero
	 * byte after XOR with the repeated stop byte holds it.  The byte loop
	 * below finds the exact position from the first word that may.
	 */
	{
		const uint64_t ones = UINT64_C(0x0101010101010101);
		const uint64_t highs = UINT64_C(0x8080808080808080);
		const uint64_t q = ones * '"',
					cr = ones * '\r',
					lf = ones * '\n',
					dl = ones * (p->state == CS_UNQUOTED ? p->delim : '"');

		while (n + 8 <= len)
		{
			uint64_t	w,
						a,
						b,
						c,
						d;

			memcpy(&w, s + n, 8);
			a = w ^ q;
			b = w ^ cr;
			c = w ^ lf;
			d = w ^ dl;
			if ((((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) |
				 ((d - ones) & ~d) | ((w - ones) & ~w)) & highs)
				break;
			n += 8;
		}
	}
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
