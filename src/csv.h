/*-------------------------------------------------------------------------
 *
 * csv.h
 *	  Incremental RFC 4180 CSV parser: chunks of bytes in, records out.
 *
 * A report's CSV file is parsed while it downloads: the libcurl write
 * callback hands each chunk to mp_csv_feed(), which calls the record
 * callback once per complete record.  A chunk may end at any byte (inside a
 * CRLF, a doubled quote, the BOM or a multi-byte character); the records
 * produced do not depend on where the chunks were split.
 *
 * Accepted syntax:
 *	- fields separated by a one-byte delimiter (default ','), records ended by
 *	  LF, CRLF or a lone CR;
 *	- a field that starts with '"' is quoted: it may hold delimiters, CR, LF
 *	  and doubled quotes ("" stands for one "), and must be followed by a
 *	  delimiter, a line end or the end of the stream;
 *	- a UTF-8 byte order mark (EF BB BF) at the very start of the stream is
 *	  skipped;
 *	- blank lines (nothing between two line ends) are skipped everywhere,
 *	  including before the header and at the end of the file.  A
 *	  consequence: in a one-column file, a row whose only value is an
 *	  unquoted empty field is indistinguishable from a blank line and is
 *	  skipped; quote it ("") to keep it;
 *	- no whitespace is trimmed; the last record may lack a line end
 *	  (mp_csv_finish() flushes it).
 *
 * Rejected (an error; the parser then refuses further input until
 * mp_csv_reset() or mp_csv_rewind()):
 *	- a NUL byte anywhere;
 *	- a quote inside an unquoted field ("unexpected quote");
 *	- anything but a delimiter or line end after a closing quote;
 *	- an unterminated quoted field at the end of the stream;
 *	- a field longer than max_field_len bytes (after removing quotes), a
 *	  record longer than max_record_len raw bytes (line end not included),
 *	  or more than max_fields fields in a record.  The parser never
 *	  allocates more than these limits need.
 *
 * No character-set validation is done here: bytes are passed through as they
 * are, and the PostgreSQL side validates the encoding of each value it
 * converts (pg_verify_mbstr).  Header handling is left to the caller: the
 * first record is delivered like any other, and mp_csv_field_index() helps
 * map column names to positions.
 *
 * Semantics suggested to the caller: an unquoted empty field is NULL, a
 * quoted empty field ("") is an empty string; MpCsvField.quoted tells them
 * apart (this is what COPY ... CSV does).
 *
 * src/csv.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MP_CSV_H
#define MP_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpalloc.h"

/* Defaults used when an MpCsvOptions member is 0 */
#define MP_CSV_DEFAULT_DELIMITER		','
#define MP_CSV_DEFAULT_MAX_FIELD_LEN	((size_t) 16 * 1024 * 1024)
#define MP_CSV_DEFAULT_MAX_RECORD_LEN	((size_t) 64 * 1024 * 1024)
#define MP_CSV_DEFAULT_MAX_FIELDS		4096

/* Return value of mp_csv_feed()/mp_csv_finish() on a parse or memory error */
#define MP_CSV_ERROR	(-1)

/*
 * Parser options.  A zeroed struct (or a NULL pointer) means all defaults.
 * The delimiter may be any byte except '"', CR, LF and NUL.
 */
typedef struct MpCsvOptions
{
	char		delimiter;		/* 0 = ',' */
	size_t		max_field_len;	/* 0 = 16 MiB; bytes of one value, quotes removed */
	size_t		max_record_len; /* 0 = 64 MiB; raw bytes of one record */
	int			max_fields;		/* 0 = 4096 */
} MpCsvOptions;

/* Kinds of error, so that the caller can choose an SQLSTATE */
typedef enum MpCsvErrorCode
{
	MP_CSV_OK = 0,
	MP_CSV_EFORMAT,				/* malformed CSV (bad quote, NUL byte, ...) */
	MP_CSV_ELIMIT,				/* field, record or field-count limit exceeded */
	MP_CSV_ENOMEM,				/* the allocator returned NULL */
	MP_CSV_ESTATE				/* feed after finish, or similar misuse */
} MpCsvErrorCode;

/*
 * One field of a record.  data points to len bytes followed by a NUL (the
 * value itself may not contain NUL: such input is rejected).  The memory
 * belongs to the parser and is valid only during the record callback.
 */
typedef struct MpCsvField
{
	const char *data;
	size_t		len;
	bool		quoted;			/* the field was written in quotes */
} MpCsvField;

typedef struct MpCsvRecord
{
	const MpCsvField *fields;
	int			nfields;		/* >= 1 */
	uint64_t	line;			/* 1-based physical line where it starts */
	uint64_t	offset;			/* byte offset in the stream where it starts
								 * (the BOM, if any, counts) */
	uint64_t	recno;			/* 1-based record number (blank lines do not
								 * count; the header, if any, is record 1) */
} MpCsvRecord;

/*
 * Record callback.  Return 0 to go on.  A non-zero value stops parsing right
 * after this record; mp_csv_feed() returns that value.  Use positive values
 * so they cannot be mistaken for MP_CSV_ERROR.  Parsing may be continued
 * afterwards by feeding the unconsumed rest of the chunk (see
 * mp_csv_bytes_consumed()), which lets a caller pause between records.
 */
typedef int (*MpCsvRecordFn) (void *arg, const MpCsvRecord *rec);

typedef struct MpCsvParser MpCsvParser;

/*
 * Create a parser.  Returns NULL if the allocator fails or the options are
 * invalid (bad delimiter, negative max_fields).
 */
extern MpCsvParser *mp_csv_create(const MpAlloc *a, const MpCsvOptions *opt,
								  MpCsvRecordFn fn, void *arg);

/*
 * Feed the next len bytes of the stream.  Returns 0 when all bytes were
 * consumed, MP_CSV_ERROR on an error (see mp_csv_error()), or the non-zero
 * value returned by the record callback, in which case only the bytes up to
 * and including the end of that record were consumed.
 */
extern int	mp_csv_feed(MpCsvParser *p, const char *data, size_t len);

/*
 * End of stream: deliver a last record that has no line end, or fail on an
 * unterminated quoted field.  Returns like mp_csv_feed().  Further feeding
 * is an error until mp_csv_reset() or mp_csv_rewind().
 */
extern int	mp_csv_finish(MpCsvParser *p);

/* The error message (NULL if none), its kind, and where it happened */
extern const char *mp_csv_error(const MpCsvParser *p);
extern MpCsvErrorCode mp_csv_error_code(const MpCsvParser *p);
extern uint64_t mp_csv_error_line(const MpCsvParser *p);
extern uint64_t mp_csv_error_offset(const MpCsvParser *p);

/*
 * Bytes of the stream consumed so far (the BOM included).  After an error,
 * the offset of the offending byte.  A download that breaks off can be
 * resumed at this offset with the parser untouched (an HTTP Range request,
 * or, if the server ignores Range, by skipping this many bytes of the new
 * response).
 */
extern uint64_t mp_csv_bytes_consumed(const MpCsvParser *p);

/*
 * Byte offset just past the last complete record (and any blank lines and
 * line-end bytes after it): everything before it has been delivered.
 */
extern uint64_t mp_csv_resume_offset(const MpCsvParser *p);

/*
 * Drop any partly parsed record (and any error or finished state) and go
 * back to mp_csv_resume_offset(), keeping line and record numbering.
 * Returns that offset; the caller then feeds the stream from there.
 */
extern uint64_t mp_csv_rewind(MpCsvParser *p);

/* Start over at offset 0 / line 1, e.g. for a download restarted from 0 */
extern void mp_csv_reset(MpCsvParser *p);

extern void mp_csv_destroy(MpCsvParser *p);

/*
 * Index of the first field of rec equal to name (byte-wise, or ignoring
 * ASCII case if nocase), or -1.  A helper for mapping a header record.
 */
extern int	mp_csv_field_index(const MpCsvRecord *rec, const char *name,
							   bool nocase);

#endif							/* MP_CSV_H */
