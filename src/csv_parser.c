/*-------------------------------------------------------------------------
 *
 * csv_parser.c
 *	  The CSV parser object: creation with its options, the error that
 *	  stopped it, the resume point, rewind, reset and destruction (see
 *	  csv.h).  The byte state machine that fills it is in csv.c.
 *
 * src/csv_parser.c
 *
 *-------------------------------------------------------------------------
 */
#include "csv_int.h"

#include <string.h>

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
