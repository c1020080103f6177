/*
 * Zip archive reader and writer for .npz files; see zip.h. Offsets, sizes
 * and signatures follow PKWARE's APPNOTE.TXT, the .ZIP File Format
 * Specification.
 */
#include "zip.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#define LOCAL_HEADER_SIGNATURE 0x04034b50u
#define CENTRAL_HEADER_SIGNATURE 0x02014b50u
#define END_RECORD_SIGNATURE 0x06054b50u
#define ZIP64_END_RECORD_SIGNATURE 0x06064b50u
#define ZIP64_LOCATOR_SIGNATURE 0x07064b50u

#define LOCAL_HEADER_SIZE 30
#define CENTRAL_HEADER_SIZE 46
#define END_RECORD_SIZE 22
#define ZIP64_END_RECORD_SIZE 56
#define ZIP64_LOCATOR_SIZE 20
#define MAX_COMMENT_SIZE 65535
#define ZIP64_EXTRA_ID 0x0001

/* A 32-bit size or offset with this value, or a 16-bit count or disk
 * number of 0xffff, means that the real value is in a zip64 record. */
#define ZIP64_MARK_32 0xffffffffu
#define ZIP64_MARK_16 0xffffu

#define FLAG_ENCRYPTED 0x0001u
#define FLAG_DATA_DESCRIPTOR 0x0008u
#define FLAG_STRONG_ENCRYPTION 0x0040u

#define METHOD_STORED 0
#define METHOD_DEFLATED 8

/* Deflate cannot compress better than 1032:1, because a length/distance
 * pair of at least 2 bits yields at most 258 bytes (zlib's "Technical
 * Details" page). A larger declared uncompressed size is therefore false.
 * The 64 KiB of slack cover tiny entries. */
#define MAX_DEFLATE_RATIO 1032u
#define DEFLATE_SLACK ((uint64_t)64 * 1024)

#define IO_CHUNK ((size_t)64 * 1024)
#define MAX_READ_CALL ((size_t)1 << 30)

/* Values the writer puts in every header. */
#define WRITER_VERSION_MADE_BY 0x0314u /* Unix, specification 2.0 */
#define WRITER_VERSION_NEEDED 20u
#define WRITER_DOS_TIME 0u
#define WRITER_DOS_DATE 0x0021u /* 1980-01-01, so output is reproducible */
#define WRITER_EXTERNAL_ATTRIBUTES 0x81a40000u /* regular file, 0644 */
#define WRITER_MAX_ENTRIES 0xfffeu

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(unsigned char *p, uint32_t value)
{
    p[0] = (unsigned char)(value & 0xff);
    p[1] = (unsigned char)(value >> 8 & 0xff);
}

static void put32(unsigned char *p, uint32_t value)
{
    put16(p, value & 0xffff);
    put16(p + 2, value >> 16);
}

/* Continues crc over size bytes, in pieces because zlib's crc32 takes
 * 32-bit lengths. */
static uint32_t update_crc(uint32_t crc, const void *data, size_t size)
{
    const unsigned char *bytes = data;

    while (size > 0) {
        size_t chunk = ebm_min_size(size, MAX_READ_CALL);

        crc = (uint32_t)crc32(crc, bytes, (uInt)chunk);
        bytes += chunk;
        size -= chunk;
    }
    return crc;
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

struct zip_entry {
    size_t name_offset; /* in the reader's copy of the central directory */
    size_t name_size;
    uint16_t flags;
    uint16_t method;
    uint32_t crc;
    uint64_t compressed_size;
    uint64_t uncompressed_size;
    uint64_t header_offset;
};

struct ebm_zip_reader {
    int fd;
    char *path;
    uint64_t file_size;
    uint64_t directory_offset; /* entries' data must end before this */
    unsigned char *directory;
    size_t entry_count;
    struct zip_entry *entries;
};

/* Reads exactly size bytes at offset, or fails with EBM_ERR_TRUNCATED if
 * the file ends first (it may have shrunk since it was opened). */
static ebm_status read_at(const ebm_zip_reader *zip, uint64_t offset,
                          void *buffer, size_t size)
{
    unsigned char *bytes = buffer;

    while (size > 0) {
        size_t request = ebm_min_size(size, MAX_READ_CALL);
        ssize_t got = pread(zip->fd, bytes, request, (off_t)offset);

        if (got < 0) {
            if (errno == EINTR)
                continue;
            return ebm_fail(EBM_ERR_IO, "%s: read failed at offset %llu: %s",
                            zip->path, (unsigned long long)offset,
                            strerror(errno));
        }
        if (got == 0)
            return ebm_fail(EBM_ERR_TRUNCATED,
                            "%s: file ends at offset %llu, before the %zu "
                            "bytes the archive declares there",
                            zip->path, (unsigned long long)offset, size);
        bytes += got;
        offset += (uint64_t)got;
        size -= (size_t)got;
    }
    return EBM_OK;
}

/* Reports a missing end record: a file that starts like a zip archive was
 * most likely cut short, anything else is not a zip archive at all. */
static ebm_status fail_no_end_record(const ebm_zip_reader *zip)
{
    static const unsigned char local_magic[4] = {'P', 'K', 3, 4};
    unsigned char start[4];
    size_t start_size = (size_t)ebm_min_size(4, (size_t)zip->file_size);
    ebm_status status = read_at(zip, 0, start, start_size);

    if (status != EBM_OK)
        return status;
    if (memcmp(start, local_magic, start_size) == 0)
        return ebm_fail(EBM_ERR_TRUNCATED,
                        "%s: the zip archive has no end of central directory "
                        "record (%llu bytes); the file is truncated",
                        zip->path, (unsigned long long)zip->file_size);
    return ebm_fail(EBM_ERR_FORMAT,
                    "%s: not a zip archive (no end of central directory "
                    "record)",
                    zip->path);
}

/* Finds the end of central directory record: the last signature in the
 * final 64 KiB + 22 bytes whose comment length reaches exactly to the end
 * of the file. */
static ebm_status find_end_record(const ebm_zip_reader *zip,
                                  uint64_t *end_offset,
                                  unsigned char record[END_RECORD_SIZE])
{
    size_t tail_size;
    uint64_t tail_offset;
    unsigned char *tail;
    ebm_status status;

    if (zip->file_size < END_RECORD_SIZE)
        return fail_no_end_record(zip);
    tail_size = (size_t)ebm_min_size((size_t)zip->file_size,
                                     END_RECORD_SIZE + MAX_COMMENT_SIZE);
    tail_offset = zip->file_size - tail_size;
    tail = malloc(tail_size);
    if (tail == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                        zip->path, tail_size);
    status = read_at(zip, tail_offset, tail, tail_size);
    if (status != EBM_OK) {
        free(tail);
        return status;
    }
    for (size_t pos = tail_size - END_RECORD_SIZE + 1; pos-- > 0;) {
        size_t comment_size = tail_size - pos - END_RECORD_SIZE;

        if (get32(tail + pos) == END_RECORD_SIGNATURE &&
            get16(tail + pos + 20) == comment_size) {
            memcpy(record, tail + pos, END_RECORD_SIZE);
            *end_offset = tail_offset + pos;
            free(tail);
            return EBM_OK;
        }
    }
    free(tail);
    return fail_no_end_record(zip);
}

/* Location of the central directory, from the end record or its zip64
 * counterpart. */
struct directory_location {
    uint64_t offset;
    uint64_t size;
    uint64_t entry_count;
    uint64_t end; /* start of the zip64 end record, else of the end record */
};

static ebm_status read_zip64_end_record(const ebm_zip_reader *zip,
                                        uint64_t end_offset,
                                        struct directory_location *where)
{
    unsigned char locator[ZIP64_LOCATOR_SIZE];
    unsigned char record[ZIP64_END_RECORD_SIZE];
    uint64_t locator_offset = end_offset - ZIP64_LOCATOR_SIZE;
    uint64_t record_offset;
    ebm_status status = read_at(zip, locator_offset, locator,
                                sizeof(locator));

    if (status != EBM_OK)
        return status;
    if (get32(locator + 4) != 0 || get32(locator + 16) != 1)
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "%s: archives split over several disks are not "
                        "supported",
                        zip->path);
    record_offset = get64(locator + 8);
    if (record_offset > locator_offset ||
        locator_offset - record_offset < ZIP64_END_RECORD_SIZE)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: zip64 end record offset %llu is invalid",
                        zip->path, (unsigned long long)record_offset);
    status = read_at(zip, record_offset, record, sizeof(record));
    if (status != EBM_OK)
        return status;
    if (get32(record) != ZIP64_END_RECORD_SIGNATURE ||
        get64(record + 4) != locator_offset - record_offset - 12)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: invalid zip64 end record at offset %llu",
                        zip->path, (unsigned long long)record_offset);
    if (get32(record + 16) != 0 || get32(record + 20) != 0)
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "%s: archives split over several disks are not "
                        "supported",
                        zip->path);
    if (get64(record + 24) != get64(record + 32))
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: zip64 end record counts disagree (%llu, %llu)",
                        zip->path, (unsigned long long)get64(record + 24),
                        (unsigned long long)get64(record + 32));
    where->entry_count = get64(record + 32);
    where->size = get64(record + 40);
    where->offset = get64(record + 48);
    where->end = record_offset;
    return EBM_OK;
}

static ebm_status locate_directory(const ebm_zip_reader *zip,
                                   struct directory_location *where)
{
    unsigned char record[END_RECORD_SIZE] = {0};
    unsigned char locator[4];
    uint64_t end_offset = 0;
    ebm_status status = find_end_record(zip, &end_offset, record);

    if (status != EBM_OK)
        return status;
    if (end_offset >= ZIP64_LOCATOR_SIZE) {
        status = read_at(zip, end_offset - ZIP64_LOCATOR_SIZE, locator,
                         sizeof(locator));
        if (status != EBM_OK)
            return status;
        if (get32(locator) == ZIP64_LOCATOR_SIGNATURE)
            return read_zip64_end_record(zip, end_offset, where);
    }
    if (get16(record + 4) != 0 || get16(record + 6) != 0)
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "%s: archives split over several disks are not "
                        "supported",
                        zip->path);
    if (get16(record + 8) != get16(record + 10))
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: end record entry counts disagree (%u, %u)",
                        zip->path, (unsigned)get16(record + 8),
                        (unsigned)get16(record + 10));
    where->entry_count = get16(record + 10);
    where->size = get32(record + 12);
    where->offset = get32(record + 16);
    where->end = end_offset;
    if (where->entry_count == ZIP64_MARK_16 ||
        where->size == ZIP64_MARK_32 || where->offset == ZIP64_MARK_32)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: the end record refers to a zip64 end record, "
                        "which is missing",
                        zip->path);
    return EBM_OK;
}

/*
 * Replaces the fields that contain a zip64 mark by their values from the
 * zip64 extended information extra field (0x0001). As APPNOTE.TXT
 * specifies, that field contains only the marked values, in the fixed
 * order uncompressed size, compressed size, header offset, disk number.
 * offset and disk may be NULL, because a local header has neither.
 */
static ebm_status apply_zip64_extra(const ebm_zip_reader *zip,
                                    const unsigned char *extra,
                                    size_t extra_size, uint64_t *uncompressed,
                                    uint64_t *compressed, uint64_t *offset,
                                    uint32_t *disk)
{
    bool need_uncompressed = *uncompressed == ZIP64_MARK_32;
    bool need_compressed = *compressed == ZIP64_MARK_32;
    bool need_offset = offset != NULL && *offset == ZIP64_MARK_32;
    bool need_disk = disk != NULL && *disk == ZIP64_MARK_16;
    size_t pos = 0;

    if (!need_uncompressed && !need_compressed && !need_offset && !need_disk)
        return EBM_OK;
    while (extra_size - pos >= 4) {
        unsigned id = get16(extra + pos);
        size_t size = get16(extra + pos + 2);
        const unsigned char *field = extra + pos + 4;
        size_t needed = 8 * (size_t)(need_uncompressed + need_compressed +
                                     need_offset) +
                        4 * (size_t)need_disk;

        if (size > extra_size - pos - 4)
            break;
        if (id == ZIP64_EXTRA_ID) {
            if (size < needed)
                break;
            if (need_uncompressed) {
                *uncompressed = get64(field);
                field += 8;
            }
            if (need_compressed) {
                *compressed = get64(field);
                field += 8;
            }
            if (need_offset) {
                *offset = get64(field);
                field += 8;
            }
            if (need_disk)
                *disk = get32(field);
            return EBM_OK;
        }
        pos += 4 + size;
    }
    return ebm_fail(EBM_ERR_FORMAT,
                    "%s: a header refers to a zip64 extra field that is "
                    "missing or too short",
                    zip->path);
}

/* Parses the central directory entry at *pos and advances *pos past it. */
static ebm_status parse_central_header(const ebm_zip_reader *zip,
                                       size_t directory_size, size_t *pos,
                                       struct zip_entry *entry)
{
    const unsigned char *header = zip->directory + *pos;
    size_t name_size, extra_size, comment_size;
    uint32_t disk;
    ebm_status status;

    if (directory_size - *pos < CENTRAL_HEADER_SIZE ||
        get32(header) != CENTRAL_HEADER_SIGNATURE)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: invalid central directory header at offset "
                        "%llu",
                        zip->path,
                        (unsigned long long)(zip->directory_offset + *pos));
    name_size = get16(header + 28);
    extra_size = get16(header + 30);
    comment_size = get16(header + 32);
    if (directory_size - *pos - CENTRAL_HEADER_SIZE <
        name_size + extra_size + comment_size)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: central directory header at offset %llu runs "
                        "past the end of the central directory",
                        zip->path,
                        (unsigned long long)(zip->directory_offset + *pos));
    entry->name_offset = *pos + CENTRAL_HEADER_SIZE;
    entry->name_size = name_size;
    entry->flags = get16(header + 8);
    entry->method = get16(header + 10);
    entry->crc = get32(header + 16);
    entry->compressed_size = get32(header + 20);
    entry->uncompressed_size = get32(header + 24);
    entry->header_offset = get32(header + 42);
    disk = get16(header + 34);
    status = apply_zip64_extra(zip, header + CENTRAL_HEADER_SIZE + name_size,
                               extra_size, &entry->uncompressed_size,
                               &entry->compressed_size,
                               &entry->header_offset, &disk);
    if (status != EBM_OK)
        return status;
    if (disk != 0)
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "%s: archives split over several disks are not "
                        "supported",
                        zip->path);
    *pos += CENTRAL_HEADER_SIZE + name_size + extra_size + comment_size;
    return EBM_OK;
}

static ebm_status read_directory(ebm_zip_reader *zip)
{
    struct directory_location where = {0, 0, 0, 0};
    size_t pos = 0;
    ebm_status status = locate_directory(zip, &where);

    if (status != EBM_OK)
        return status;
    if (where.offset > zip->file_size ||
        where.size > zip->file_size - where.offset)
        return ebm_fail(EBM_ERR_TRUNCATED,
                        "%s: the central directory (offset %llu, %llu bytes) "
                        "lies beyond the end of the file (%llu bytes)",
                        zip->path, (unsigned long long)where.offset,
                        (unsigned long long)where.size,
                        (unsigned long long)zip->file_size);
    if (where.offset + where.size != where.end)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: the central directory (offset %llu, %llu bytes) "
                        "does not end where the end record starts (%llu)",
                        zip->path, (unsigned long long)where.offset,
                        (unsigned long long)where.size,
                        (unsigned long long)where.end);
    if (where.entry_count > where.size / CENTRAL_HEADER_SIZE)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: %llu entries cannot fit in a central directory "
                        "of %llu bytes",
                        zip->path, (unsigned long long)where.entry_count,
                        (unsigned long long)where.size);
    /* Both sizes are now bounded by the file size, which fits in off_t. */
    zip->directory_offset = where.offset;
    zip->directory = malloc((size_t)where.size + 1);
    zip->entries = malloc(((size_t)where.entry_count + 1) *
                          sizeof(*zip->entries));
    if (zip->directory == NULL || zip->entries == NULL)
        return ebm_fail(EBM_ERR_NOMEM,
                        "%s: cannot allocate the central directory (%llu "
                        "bytes)",
                        zip->path, (unsigned long long)where.size);
    status = read_at(zip, where.offset, zip->directory, (size_t)where.size);
    if (status != EBM_OK)
        return status;
    for (size_t i = 0; i < where.entry_count; i++) {
        status = parse_central_header(zip, (size_t)where.size, &pos,
                                      &zip->entries[i]);
        if (status != EBM_OK)
            return status;
        zip->entry_count = i + 1;
    }
    if (pos != where.size)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: the central directory has %llu bytes but its "
                        "%llu entries use %zu",
                        zip->path, (unsigned long long)where.size,
                        (unsigned long long)where.entry_count, pos);
    return EBM_OK;
}

static ebm_status check_all_local_headers(const ebm_zip_reader *zip);

ebm_status ebm_zip_reader_open(const char *path, ebm_zip_reader **out)
{
    struct stat info;
    ebm_zip_reader *zip;
    ebm_status status;

    if (path == NULL || out == NULL)
        return ebm_fail(EBM_ERR_NULL, "%s is NULL",
                        path == NULL ? "path" : "out");
    zip = calloc(1, sizeof(*zip));
    if (zip == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a zip reader",
                        path);
    zip->fd = -1;
    zip->path = strdup(path);
    if (zip->path == NULL) {
        free(zip);
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a zip reader",
                        path);
    }
    zip->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (zip->fd < 0) {
        status = ebm_fail(EBM_ERR_IO, "%s: cannot open: %s", path,
                          strerror(errno));
        ebm_zip_reader_close(zip);
        return status;
    }
    if (fstat(zip->fd, &info) != 0) {
        status = ebm_fail(EBM_ERR_IO, "%s: cannot stat: %s", path,
                          strerror(errno));
        ebm_zip_reader_close(zip);
        return status;
    }
    if (!S_ISREG(info.st_mode)) {
        status = ebm_fail(EBM_ERR_IO, "%s: not a regular file%s", path,
                          S_ISDIR(info.st_mode) ? " (a directory)" : "");
        ebm_zip_reader_close(zip);
        return status;
    }
    zip->file_size = (uint64_t)info.st_size;
    status = read_directory(zip);
    if (status == EBM_OK)
        status = check_all_local_headers(zip);
    if (status != EBM_OK) {
        ebm_zip_reader_close(zip);
        return status;
    }
    *out = zip;
    return EBM_OK;
}

void ebm_zip_reader_close(ebm_zip_reader *zip)
{
    if (zip == NULL)
        return;
    if (zip->fd >= 0)
        close(zip->fd);
    free(zip->entries);
    free(zip->directory);
    free(zip->path);
    free(zip);
}

static bool entry_has_name(const ebm_zip_reader *zip,
                           const struct zip_entry *entry, const char *name,
                           size_t name_size)
{
    return entry->name_size == name_size &&
           memcmp(zip->directory + entry->name_offset, name, name_size) == 0;
}

bool ebm_zip_reader_contains(const ebm_zip_reader *zip, const char *name)
{
    size_t name_size = strlen(name);

    for (size_t i = 0; i < zip->entry_count; i++)
        if (entry_has_name(zip, &zip->entries[i], name, name_size))
            return true;
    return false;
}

/* Finds the single entry called name. Zero or two such entries are an
 * error. */
static ebm_status find_entry(const ebm_zip_reader *zip, const char *name,
                             const struct zip_entry **out)
{
    size_t name_size = strlen(name);
    size_t matches = 0;

    for (size_t i = 0; i < zip->entry_count; i++) {
        if (entry_has_name(zip, &zip->entries[i], name, name_size)) {
            *out = &zip->entries[i];
            matches++;
        }
    }
    if (matches == 0)
        return ebm_fail(EBM_ERR_FORMAT, "%s: the archive has no entry %s",
                        zip->path, name);
    if (matches > 1)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: the archive has %zu entries named %s", zip->path,
                        matches, name);
    return EBM_OK;
}

/* Checks the entry's flags, method and sizes against what the reader
 * supports, before anything is allocated for it. */
static ebm_status check_entry(const ebm_zip_reader *zip, const char *name,
                              const struct zip_entry *entry)
{
    if (entry->flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "%s: entry %s is encrypted, which is not supported",
                        zip->path, name);
    if (entry->method != METHOD_STORED && entry->method != METHOD_DEFLATED)
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "%s: entry %s uses compression method %u; only "
                        "stored (0) and deflate (8) are supported",
                        zip->path, name, (unsigned)entry->method);
    if (entry->method == METHOD_STORED &&
        entry->compressed_size != entry->uncompressed_size)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: stored entry %s has compressed size %llu but "
                        "uncompressed size %llu",
                        zip->path, name,
                        (unsigned long long)entry->compressed_size,
                        (unsigned long long)entry->uncompressed_size);
    if (entry->method == METHOD_DEFLATED &&
        (entry->compressed_size > UINT64_MAX / MAX_DEFLATE_RATIO ||
         entry->uncompressed_size >
             entry->compressed_size * MAX_DEFLATE_RATIO + DEFLATE_SLACK))
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: entry %s declares %llu bytes from %llu "
                        "compressed bytes, more than deflate can produce",
                        zip->path, name,
                        (unsigned long long)entry->uncompressed_size,
                        (unsigned long long)entry->compressed_size);
    if (entry->uncompressed_size >= SIZE_MAX)
        return ebm_fail(EBM_ERR_NOMEM,
                        "%s: entry %s (%llu bytes) does not fit in memory",
                        zip->path, name,
                        (unsigned long long)entry->uncompressed_size);
    return EBM_OK;
}

/* Validates the local header of entry against the central directory and
 * stores the offset of the entry's data in *data_offset. */
static ebm_status check_local_header(const ebm_zip_reader *zip,
                                     const char *name,
                                     const struct zip_entry *entry,
                                     uint64_t *data_offset)
{
    unsigned char header[LOCAL_HEADER_SIZE];
    unsigned char *variable;
    size_t name_size, extra_size;
    uint64_t uncompressed, compressed, data_end;
    uint16_t flags;
    ebm_status status;

    if (entry->header_offset > zip->file_size ||
        zip->file_size - entry->header_offset < LOCAL_HEADER_SIZE)
        return ebm_fail(EBM_ERR_TRUNCATED,
                        "%s: local header of %s at offset %llu lies beyond "
                        "the end of the file",
                        zip->path, name,
                        (unsigned long long)entry->header_offset);
    status = read_at(zip, entry->header_offset, header, sizeof(header));
    if (status != EBM_OK)
        return status;
    if (get32(header) != LOCAL_HEADER_SIGNATURE)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: no local header signature for %s at offset %llu",
                        zip->path, name,
                        (unsigned long long)entry->header_offset);
    flags = get16(header + 6);
    name_size = get16(header + 26);
    extra_size = get16(header + 28);
    *data_offset = entry->header_offset + LOCAL_HEADER_SIZE + name_size +
                   extra_size;
    if (*data_offset > zip->file_size ||
        entry->compressed_size > zip->file_size - *data_offset)
        return ebm_fail(EBM_ERR_TRUNCATED,
                        "%s: the data of %s (%llu bytes at offset %llu) lie "
                        "beyond the end of the file (%llu bytes)",
                        zip->path, name,
                        (unsigned long long)entry->compressed_size,
                        (unsigned long long)*data_offset,
                        (unsigned long long)zip->file_size);
    data_end = *data_offset + entry->compressed_size;
    if (data_end > zip->directory_offset)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: the data of %s overlap the central directory",
                        zip->path, name);
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))
        return ebm_fail(EBM_ERR_UNSUPPORTED,
                        "%s: entry %s is encrypted, which is not supported",
                        zip->path, name);
    if (get16(header + 8) != entry->method)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: local header of %s gives method %u, the central "
                        "directory %u",
                        zip->path, name, (unsigned)get16(header + 8),
                        (unsigned)entry->method);

    variable = malloc(name_size + extra_size + 1);
    if (variable == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                        zip->path, name_size + extra_size);
    status = read_at(zip, entry->header_offset + LOCAL_HEADER_SIZE, variable,
                     name_size + extra_size);
    if (status == EBM_OK && (name_size != entry->name_size ||
                             memcmp(variable,
                                    zip->directory + entry->name_offset,
                                    name_size) != 0))
        status = ebm_fail(EBM_ERR_FORMAT,
                          "%s: local header at offset %llu does not name %s",
                          zip->path, (unsigned long long)entry->header_offset,
                          name);
    /* With a data descriptor the local CRC and sizes may be 0, so only the
     * central directory's values are checked against the data. */
    if (status == EBM_OK && !(flags & FLAG_DATA_DESCRIPTOR)) {
        uncompressed = get32(header + 22);
        compressed = get32(header + 18);
        status = apply_zip64_extra(zip, variable + name_size, extra_size,
                                   &uncompressed, &compressed, NULL, NULL);
        if (status == EBM_OK &&
            (get32(header + 14) != entry->crc ||
             uncompressed != entry->uncompressed_size ||
             compressed != entry->compressed_size))
            status = ebm_fail(EBM_ERR_FORMAT,
                              "%s: local header of %s disagrees with the "
                              "central directory (CRC-32 or sizes)",
                              zip->path, name);
    }
    free(variable);
    return status;
}

/* Checks every entry's local header on opening, so that a damaged name
 * in the central directory cannot hide an entry, such as format_version,
 * that the caller then treats as absent. */
static ebm_status check_all_local_headers(const ebm_zip_reader *zip)
{
    ebm_status status = EBM_OK;

    for (size_t i = 0; i < zip->entry_count && status == EBM_OK; i++) {
        const struct zip_entry *entry = &zip->entries[i];
        char *name = malloc(entry->name_size + 1);
        uint64_t data_offset = 0;

        if (name == NULL)
            return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                            zip->path, entry->name_size + 1);
        memcpy(name, zip->directory + entry->name_offset, entry->name_size);
        name[entry->name_size] = '\0';
        status = check_local_header(zip, name, entry, &data_offset);
        free(name);
    }
    return status;
}

struct ebm_zip_stream {
    const ebm_zip_reader *zip;
    const struct zip_entry *entry;
    char *name;           /* the entry's name, for messages */
    uint64_t offset;      /* file offset of the next compressed byte */
    uint64_t remaining;   /* compressed bytes not yet read from the file */
    size_t produced;      /* content bytes returned so far */
    uint32_t crc;         /* CRC-32 of those bytes */
    bool deflated;
    bool ended;           /* inflate has returned Z_STREAM_END */
    bool inflater_ready;  /* inflateInit2 succeeded */
    z_stream inflater;
    unsigned char *input; /* IO_CHUNK bytes, only when deflated */
};

static ebm_status fail_inflate(const ebm_zip_stream *stream, int code)
{
    if (code == Z_MEM_ERROR)
        return ebm_fail(EBM_ERR_NOMEM, "%s: out of memory inflating %s",
                        stream->zip->path, stream->name);
    return ebm_fail(EBM_ERR_FORMAT, "%s: corrupt deflate data in %s: %s",
                    stream->zip->path, stream->name,
                    stream->inflater.msg != NULL ? stream->inflater.msg
                                                 : "stream ends early");
}

ebm_status ebm_zip_stream_open(ebm_zip_reader *zip, const char *name,
                               ebm_zip_stream **out)
{
    const struct zip_entry *entry = NULL;
    uint64_t data_offset = 0;
    ebm_zip_stream *stream;
    ebm_status status = find_entry(zip, name, &entry);

    if (status == EBM_OK)
        status = check_entry(zip, name, entry);
    if (status == EBM_OK)
        status = check_local_header(zip, name, entry, &data_offset);
    if (status != EBM_OK)
        return status;
    stream = calloc(1, sizeof(*stream));
    if (stream == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a reader for %s",
                        zip->path, name);
    stream->zip = zip;
    stream->entry = entry;
    stream->name = strdup(name);
    stream->offset = data_offset;
    stream->remaining = entry->compressed_size;
    stream->crc = (uint32_t)crc32(0, Z_NULL, 0);
    stream->deflated = entry->method == METHOD_DEFLATED;
    if (stream->deflated)
        stream->input = malloc(IO_CHUNK);
    if (stream->name == NULL || (stream->deflated && stream->input == NULL)) {
        ebm_zip_stream_close(stream);
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a reader for %s",
                        zip->path, name);
    }
    if (stream->deflated) {
        int code = inflateInit2(&stream->inflater, -MAX_WBITS);

        if (code != Z_OK) {
            status = fail_inflate(stream, code);
            ebm_zip_stream_close(stream);
            return status;
        }
        stream->inflater_ready = true;
    }
    *out = stream;
    return EBM_OK;
}

size_t ebm_zip_stream_size(const ebm_zip_stream *stream)
{
    return (size_t)stream->entry->uncompressed_size;
}

bool ebm_zip_stream_is_deflated(const ebm_zip_stream *stream)
{
    return stream->deflated;
}

/* Refills the inflate input from the file when it is empty. */
static ebm_status refill_input(ebm_zip_stream *stream)
{
    size_t chunk;
    ebm_status status;

    if (stream->inflater.avail_in > 0 || stream->remaining == 0)
        return EBM_OK;
    chunk = (size_t)(stream->remaining < IO_CHUNK ? stream->remaining
                                                  : IO_CHUNK);
    status = read_at(stream->zip, stream->offset, stream->input, chunk);
    if (status != EBM_OK)
        return status;
    stream->inflater.next_in = stream->input;
    stream->inflater.avail_in = (uInt)chunk;
    stream->offset += chunk;
    stream->remaining -= chunk;
    return EBM_OK;
}

/* Runs inflate once into output[0, size) and stores the bytes it wrote in
 * *written. A stream that needs input which the entry does not have is
 * corrupt. */
static ebm_status inflate_step(ebm_zip_stream *stream, unsigned char *output,
                               size_t size, size_t *written)
{
    z_stream *inflater = &stream->inflater;
    uInt space = (uInt)ebm_min_size(size, UINT_MAX);
    ebm_status status = refill_input(stream);
    int code;

    *written = 0;
    if (status != EBM_OK)
        return status;
    inflater->next_out = output;
    inflater->avail_out = space;
    code = inflate(inflater, Z_NO_FLUSH);
    *written = space - inflater->avail_out;
    if (code == Z_STREAM_END) {
        stream->ended = true;
        return EBM_OK;
    }
    if (code == Z_BUF_ERROR && inflater->avail_in == 0 &&
        stream->remaining == 0)
        return fail_inflate(stream, code);
    if (code != Z_OK && code != Z_BUF_ERROR)
        return fail_inflate(stream, code);
    return EBM_OK;
}

/* Reads exactly size bytes, which the caller has checked are within the
 * declared size. */
static ebm_status read_content(ebm_zip_stream *stream, unsigned char *buffer,
                               size_t size)
{
    size_t filled = 0;

    if (!stream->deflated) {
        ebm_status status = read_at(stream->zip, stream->offset, buffer,
                                    size);

        if (status == EBM_OK)
            stream->offset += size;
        return status;
    }
    while (filled < size) {
        size_t written = 0;
        ebm_status status;

        if (stream->ended)
            return ebm_fail(EBM_ERR_FORMAT,
                            "%s: %s inflates to %zu bytes, not the "
                            "declared %zu",
                            stream->zip->path, stream->name,
                            stream->produced + filled,
                            ebm_zip_stream_size(stream));
        status = inflate_step(stream, buffer + filled, size - filled,
                              &written);
        filled += written;
        if (status != EBM_OK)
            return status;
    }
    return EBM_OK;
}

ebm_status ebm_zip_stream_read(ebm_zip_stream *stream, void *buffer,
                               size_t size, size_t *got)
{
    size_t count = ebm_min_size(size, ebm_zip_stream_size(stream) -
                                          stream->produced);
    ebm_status status = read_content(stream, buffer, count);

    *got = 0;
    if (status != EBM_OK)
        return status;
    stream->crc = update_crc(stream->crc, buffer, count);
    stream->produced += count;
    *got = count;
    return EBM_OK;
}

/* Checks that the deflate stream ends at the declared size: inflating
 * into one spare byte must reach the end of the stream without output,
 * and with every compressed byte used. */
static ebm_status check_deflate_end(ebm_zip_stream *stream)
{
    unsigned char spare;

    while (!stream->ended) {
        size_t written = 0;
        ebm_status status = inflate_step(stream, &spare, 1, &written);

        if (status == EBM_OK && written > 0)
            status = ebm_fail(EBM_ERR_FORMAT,
                              "%s: %s inflates to more than its declared "
                              "%zu bytes",
                              stream->zip->path, stream->name,
                              ebm_zip_stream_size(stream));
        if (status != EBM_OK)
            return status;
    }
    if (stream->inflater.avail_in != 0 || stream->remaining != 0)
        return ebm_fail(EBM_ERR_FORMAT,
                        "%s: the deflate stream of %s ends before its "
                        "%llu compressed bytes",
                        stream->zip->path, stream->name,
                        (unsigned long long)stream->entry->compressed_size);
    return EBM_OK;
}

ebm_status ebm_zip_stream_finish(ebm_zip_stream *stream)
{
    unsigned char discard[4096];
    size_t got = 0;
    ebm_status status = EBM_OK;

    while (status == EBM_OK &&
           stream->produced < ebm_zip_stream_size(stream))
        status = ebm_zip_stream_read(stream, discard, sizeof(discard), &got);
    if (status == EBM_OK && stream->deflated)
        status = check_deflate_end(stream);
    if (status == EBM_OK && stream->crc != stream->entry->crc)
        status = ebm_fail(EBM_ERR_FORMAT,
                          "%s: CRC-32 of %s is %08x, expected %08x; the file "
                          "is corrupted",
                          stream->zip->path, stream->name,
                          (unsigned)stream->crc,
                          (unsigned)stream->entry->crc);
    return status;
}

void ebm_zip_stream_close(ebm_zip_stream *stream)
{
    if (stream == NULL)
        return;
    if (stream->inflater_ready)
        inflateEnd(&stream->inflater);
    free(stream->input);
    free(stream->name);
    free(stream);
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

struct written_entry {
    char *name;
    size_t name_size;
    uint32_t crc;
    uint32_t size;
    uint32_t offset;
};

struct ebm_zip_writer {
    int fd;
    const char *path;
    uint64_t offset;
    struct written_entry *entries;
    size_t count;
    size_t capacity;
};

static ebm_status write_all(const ebm_zip_writer *zip, const void *data,
                            size_t size)
{
    const unsigned char *bytes = data;

    while (size > 0) {
        size_t request = ebm_min_size(size, MAX_READ_CALL);
        ssize_t written = write(zip->fd, bytes, request);

        if (written < 0) {
            if (errno == EINTR)
                continue;
            return ebm_fail(EBM_ERR_IO, "%s: write failed: %s", zip->path,
                            strerror(errno));
        }
        bytes += written;
        size -= (size_t)written;
    }
    return EBM_OK;
}

ebm_status ebm_zip_writer_create(int fd, const char *path,
                                 ebm_zip_writer **out)
{
    ebm_zip_writer *zip = calloc(1, sizeof(*zip));

    if (zip == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate a zip writer",
                        path);
    zip->fd = fd;
    zip->path = path;
    *out = zip;
    return EBM_OK;
}

/* Fills the 30-byte local header, or the 46-byte central directory header
 * when central is true, for entry. */
static void format_header(unsigned char *header,
                          const struct written_entry *entry, bool central)
{
    size_t field = central ? 6 : 4; /* skips "version made by" */

    memset(header, 0, central ? CENTRAL_HEADER_SIZE : LOCAL_HEADER_SIZE);
    put32(header, central ? CENTRAL_HEADER_SIGNATURE : LOCAL_HEADER_SIGNATURE);
    if (central)
        put16(header + 4, WRITER_VERSION_MADE_BY);
    put16(header + field, WRITER_VERSION_NEEDED);
    put16(header + field + 2, 0); /* flags */
    put16(header + field + 4, METHOD_STORED);
    put16(header + field + 6, WRITER_DOS_TIME);
    put16(header + field + 8, WRITER_DOS_DATE);
    put32(header + field + 10, entry->crc);
    put32(header + field + 14, entry->size);
    put32(header + field + 18, entry->size);
    put16(header + field + 22, (uint32_t)entry->name_size);
    if (central) {
        put32(header + 38, WRITER_EXTERNAL_ATTRIBUTES);
        put32(header + 42, entry->offset);
    }
}

static ebm_status reserve_entry(ebm_zip_writer *zip)
{
    struct written_entry *grown;
    size_t capacity = zip->capacity == 0 ? 8 : zip->capacity * 2;

    if (zip->count < zip->capacity)
        return EBM_OK;
    grown = realloc(zip->entries, capacity * sizeof(*grown));
    if (grown == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate zip entries",
                        zip->path);
    zip->entries = grown;
    zip->capacity = capacity;
    return EBM_OK;
}

ebm_status ebm_zip_writer_add(ebm_zip_writer *zip, const char *name,
                              const ebm_zip_part *parts, size_t part_count)
{
    unsigned char header[LOCAL_HEADER_SIZE];
    struct written_entry entry;
    uint64_t total = 0;
    uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
    ebm_status status;

    entry.name_size = strlen(name);
    for (size_t i = 0; i < part_count; i++) {
        if (parts[i].size >= ZIP64_MARK_32 - total)
            return ebm_fail(EBM_ERR_LIMIT,
                            "%s: entry %s is 4 GiB or larger, which needs "
                            "zip64 records that this writer does not produce",
                            zip->path, name);
        total += parts[i].size;
    }
    if (zip->count >= WRITER_MAX_ENTRIES || entry.name_size > 0xffff ||
        zip->offset + LOCAL_HEADER_SIZE + entry.name_size + total >=
            ZIP64_MARK_32)
        return ebm_fail(EBM_ERR_LIMIT,
                        "%s: entry %s would end past 4 GiB, which needs "
                        "zip64 records that this writer does not produce",
                        zip->path, name);
    for (size_t i = 0; i < part_count; i++)
        crc = update_crc(crc, parts[i].data, parts[i].size);
    entry.crc = crc;
    entry.size = (uint32_t)total;
    entry.offset = (uint32_t)zip->offset;
    status = reserve_entry(zip);
    if (status != EBM_OK)
        return status;
    entry.name = strdup(name);
    if (entry.name == NULL)
        return ebm_fail(EBM_ERR_NOMEM, "%s: cannot allocate an entry name",
                        zip->path);
    zip->entries[zip->count++] = entry;

    format_header(header, &entry, false);
    status = write_all(zip, header, sizeof(header));
    if (status == EBM_OK)
        status = write_all(zip, name, entry.name_size);
    for (size_t i = 0; i < part_count && status == EBM_OK; i++)
        status = write_all(zip, parts[i].data, parts[i].size);
    zip->offset += LOCAL_HEADER_SIZE + entry.name_size + total;
    return status;
}

ebm_status ebm_zip_writer_finish(ebm_zip_writer *zip)
{
    unsigned char end[END_RECORD_SIZE];
    unsigned char *directory, *cursor;
    uint64_t directory_size = 0;
    ebm_status status;

    for (size_t i = 0; i < zip->count; i++)
        directory_size += CENTRAL_HEADER_SIZE + zip->entries[i].name_size;
    if (zip->offset + directory_size + END_RECORD_SIZE >= ZIP64_MARK_32)
        return ebm_fail(EBM_ERR_LIMIT,
                        "%s: the archive would exceed 4 GiB, which needs "
                        "zip64 records that this writer does not produce",
                        zip->path);
    directory = malloc((size_t)directory_size + 1);
    if (directory == NULL)
        return ebm_fail(EBM_ERR_NOMEM,
                        "%s: cannot allocate the central directory",
                        zip->path);
    cursor = directory;
    for (size_t i = 0; i < zip->count; i++) {
        format_header(cursor, &zip->entries[i], true);
        memcpy(cursor + CENTRAL_HEADER_SIZE, zip->entries[i].name,
               zip->entries[i].name_size);
        cursor += CENTRAL_HEADER_SIZE + zip->entries[i].name_size;
    }
    memset(end, 0, sizeof(end));
    put32(end, END_RECORD_SIGNATURE);
    put16(end + 8, (uint32_t)zip->count);
    put16(end + 10, (uint32_t)zip->count);
    put32(end + 12, (uint32_t)directory_size);
    put32(end + 16, (uint32_t)zip->offset);
    status = write_all(zip, directory, (size_t)directory_size);
    if (status == EBM_OK)
        status = write_all(zip, end, sizeof(end));
    free(directory);
    return status;
}

void ebm_zip_writer_destroy(ebm_zip_writer *zip)
{
    if (zip == NULL)
        return;
    for (size_t i = 0; i < zip->count; i++)
        free(zip->entries[i].name);
    free(zip->entries);
    free(zip);
}
