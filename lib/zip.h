/*
 * Minimal zip archive reader and writer, enough for NumPy .npz files.
 *
 * The reader takes entries stored (method 0) or deflated (method 8), with
 * or without zip64 records, checks every offset and size against the
 * file size, and checks the CRC-32 of every entry it reads to the end.
 * The writer produces stored entries only and no zip64 records.
 *
 * Structure names follow PKWARE's APPNOTE.TXT (the zip file format
 * specification): local file header, central directory, end of central
 * directory record.
 */
#ifndef EBM_ZIP_H
#define EBM_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

typedef struct ebm_zip_reader ebm_zip_reader;

/*
 * Opens the archive at path, reads its central directory and checks the
 * local header of every entry against it.
 *
 * Errors: EBM_ERR_IO (cannot open or read, or not a regular file).
 * EBM_ERR_FORMAT (no end of central directory record, or inconsistent
 * records). EBM_ERR_TRUNCATED (the file ends before the end record, the
 * central directory or an entry). EBM_ERR_UNSUPPORTED (encryption, or an
 * archive split over several disks). EBM_ERR_NOMEM.
 */
ebm_status ebm_zip_reader_open(const char *path, ebm_zip_reader **out);

/* Closes the file and frees the reader. Accepts NULL. */
void ebm_zip_reader_close(ebm_zip_reader *zip);

/* Whether the archive's central directory lists an entry named name. */
bool ebm_zip_reader_contains(const ebm_zip_reader *zip, const char *name);

/* A reader of one entry's content. A deflated entry is inflated as the
 * caller reads it, so an entry of any size needs only a 64 KiB input
 * buffer and zlib's inflate state (about 40 KiB). */
typedef struct ebm_zip_stream ebm_zip_stream;

/*
 * Opens entry `name` for reading. The local header must agree with the
 * central directory. Nothing is allocated in proportion to the entry.
 * Errors: EBM_ERR_FORMAT (no such entry, two entries of that name, bad
 * structure, or a declared size more than 1032 times the compressed size
 * plus 64 KiB), EBM_ERR_TRUNCATED (the entry lies beyond the end of the
 * file), EBM_ERR_UNSUPPORTED (encryption or a method other than 0 and 8),
 * EBM_ERR_IO, EBM_ERR_NOMEM.
 */
ebm_status ebm_zip_stream_open(ebm_zip_reader *zip, const char *name,
                               ebm_zip_stream **out);

/* The entry's declared uncompressed size, which ebm_zip_stream_open has
 * checked to fit in size_t. */
size_t ebm_zip_stream_size(const ebm_zip_stream *stream);

/* Whether the entry is deflated (method 8) rather than stored. */
bool ebm_zip_stream_is_deflated(const ebm_zip_stream *stream);

/*
 * Reads the next min(size, bytes left) bytes of the content into buffer
 * and stores that count in *got, so *got < size only at the declared end.
 * Errors: EBM_ERR_FORMAT (corrupt deflate data, or a deflate stream that
 * ends before the declared size), EBM_ERR_TRUNCATED (the file shrank),
 * EBM_ERR_IO, EBM_ERR_NOMEM.
 */
ebm_status ebm_zip_stream_read(ebm_zip_stream *stream, void *buffer,
                               size_t size, size_t *got);

/*
 * Reads and discards what the caller has not read, then checks the end of
 * the entry: the deflate stream must end exactly at the declared size and
 * use exactly the declared compressed bytes, and the content must match
 * the CRC-32 of the central directory. Only after this call returns
 * EBM_OK is the content read so far known to be intact.
 * Errors: EBM_ERR_FORMAT (CRC-32 mismatch, more data than declared, or
 * compressed bytes left over), and those of ebm_zip_stream_read.
 */
ebm_status ebm_zip_stream_finish(ebm_zip_stream *stream);

/* Frees the stream. Accepts NULL. The reader must outlive its streams. */
void ebm_zip_stream_close(ebm_zip_stream *stream);

/* One piece of an entry's content. An entry is the concatenation of its
 * parts, so a header and a large array need not be copied together. */
typedef struct ebm_zip_part {
    const void *data;
    size_t size;
} ebm_zip_part;

typedef struct ebm_zip_writer ebm_zip_writer;

/*
 * Starts an archive written to the open file descriptor fd, from its
 * current position, which must be the start of the file. path is used in
 * messages only and must stay valid while the writer is used. The writer
 * never closes fd.
 * Errors: EBM_ERR_NOMEM.
 */
ebm_status ebm_zip_writer_create(int fd, const char *path,
                                 ebm_zip_writer **out);

/*
 * Writes a stored entry named name with the concatenated parts as content.
 * Errors: EBM_ERR_LIMIT (the entry, its offset or the archive would not
 * fit in the 32-bit fields of a zip without zip64 records, or more than
 * 65534 entries), EBM_ERR_IO, EBM_ERR_NOMEM.
 */
ebm_status ebm_zip_writer_add(ebm_zip_writer *zip, const char *name,
                              const ebm_zip_part *parts, size_t part_count);

/* Writes the central directory and the end record. Errors: EBM_ERR_LIMIT,
 * EBM_ERR_IO, EBM_ERR_NOMEM. */
ebm_status ebm_zip_writer_finish(ebm_zip_writer *zip);

/* Frees the writer without closing its file descriptor. Accepts NULL. */
void ebm_zip_writer_destroy(ebm_zip_writer *zip);

#endif /* EBM_ZIP_H */
