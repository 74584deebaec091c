/*-------------------------------------------------------------------------
 *
 * csv_int.h
 *	  The CSV parser's state, shared by the state machine (csv.c) and the
 *	  parser object's functions (csv_parser.c).  Not for other files: they
 *	  see MpCsvParser as opaque (csv.h).
 *
 * src/csv_int.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MP_CSV_INT_H
#define MP_CSV_INT_H

#include "csv.h"

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

#endif							/* MP_CSV_INT_H */
