/* verify.c - is a checkpoint file complete?  (see verify.h)  A zip is
 * judged by its end-of-central-directory record and the central directory
 * it points at; a .safetensors file by its header; anything else is
 * UNKNOWN.  Only pread: the file offset is never moved, nothing is
 * written. */
#include "ckptd/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_EOCD_SIG 0x06054b50u
#define ZIP_CD_SIG 0x02014b50u
#define ZIP64_LOC_SIG 0x07064b50u
#define ZIP64_EOCD_SIG 0x06064b50u

#define EOCD_LEN 22u
#define ZIP64_LOC_LEN 20u
#define ZIP64_EOCD_LEN 56u
#define CD_ENTRY_LEN 46u
#define LOCAL_HDR_LEN 30u
#define MAX_COMMENT 65535u

/* A central directory larger than this is checked at its first header
 * only, not walked entry by entry (torch.save writes a few KB). */
#define CD_WALK_MAX (64u * 1024u * 1024u)
/* The safetensors library refuses headers above 100 MB. */
#define ST_HEADER_MAX 100000000ull

/* One verdict in progress: what to answer and why. */
struct judge {
	enum ckptd_verdict *out;
	char *why;
	size_t whylen;
};

static int verdict(struct judge *j, enum ckptd_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int verdict(struct judge *j, enum ckptd_verdict v, const char *fmt, ...)
{
	*j->out = v;
	if (j->why && j->whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(j->why, j->whylen, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* A verdict with no reason to give (why stays empty). */
static int settle(struct judge *j, enum ckptd_verdict v)
{
	*j->out = v;
	return 0;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Read up to len bytes at off; returns how many were read (fewer only at
 * end of file: the file shrank under us), or -1 with errno. */
static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Exactly len bytes at off: 1 when read, 0 when the file is shorter than
 * its size said (it shrank), -1 with errno. */
static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = read_at(fd, buf, len, off);
	if (n < 0)
		return -1;
	return (size_t)n == len;
}

/* Walk the central directory: count headers, each inside cd_size and
 * pointing at a local header before the directory.  Returns 0 with a
 * verdict, or -1 with errno. */
static int walk_cd(int fd, uint64_t cd_off, uint64_t cd_size, uint64_t entries,
                   struct judge *j)
{
	unsigned char *cd = malloc(cd_size);
	if (!cd)
		return -1;
	int r = read_exact(fd, cd, cd_size, cd_off);
	if (r <= 0) {
		free(cd);
		return r < 0 ? -1 : verdict(j, CKPTD_VERIFY_INCOMPLETE, "file shrank while read");
	}
	uint64_t pos = 0, n = 0;
	while (n < entries) {
		if (cd_size - pos < CD_ENTRY_LEN || le32(cd + pos) != ZIP_CD_SIG) {
			free(cd);
			return verdict(j, CKPTD_VERIFY_INCOMPLETE,
			               "central directory header %llu of %llu missing",
			               (unsigned long long)n + 1, (unsigned long long)entries);
		}
		const unsigned char *h = cd + pos;
		uint64_t len = CD_ENTRY_LEN + (uint64_t)le16(h + 28) + le16(h + 30) + le16(h + 32);
		uint32_t local = le32(h + 42);
		if (len > cd_size - pos ||
		    (local != 0xFFFFFFFFu && (uint64_t)local + LOCAL_HDR_LEN > cd_off)) {
			free(cd);
			return verdict(j, CKPTD_VERIFY_INCOMPLETE,
			               "central directory header %llu inconsistent",
			               (unsigned long long)n + 1);
		}
		pos += len;
		n++;
	}
	free(cd);
	return settle(j, CKPTD_VERIFY_OK);
}

/* The zip64 end-of-central-directory record, found through the locator
 * just before the EOCD at eocd.  On success *cd_off, *cd_size, *entries
 * and *limit (where the record starts) are set and 1 is returned; 0 means
 * a verdict was given; -1 errno. */
static int read_zip64(int fd, uint64_t eocd, uint64_t *cd_off, uint64_t *cd_size,
                      uint64_t *entries, uint64_t *limit, struct judge *j)
{
	unsigned char loc[ZIP64_LOC_LEN], rec[ZIP64_EOCD_LEN];
	if (eocd < ZIP64_LOC_LEN + ZIP64_EOCD_LEN)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "zip64 locator missing");
	uint64_t loc_off = eocd - ZIP64_LOC_LEN;
	int r = read_exact(fd, loc, sizeof loc, loc_off);
	if (r <= 0)
		return r < 0 ? -1 : verdict(j, CKPTD_VERIFY_INCOMPLETE, "file shrank while read");
	if (le32(loc) != ZIP64_LOC_SIG)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "zip64 locator missing");
	uint64_t rec_off = le64(loc + 8);
	if (rec_off > loc_off || loc_off - rec_off < ZIP64_EOCD_LEN)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "zip64 end record out of place");
	r = read_exact(fd, rec, sizeof rec, rec_off);
	if (r <= 0)
		return r < 0 ? -1 : verdict(j, CKPTD_VERIFY_INCOMPLETE, "file shrank while read");
	if (le32(rec) != ZIP64_EOCD_SIG)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "zip64 end record missing");
	if (le64(rec + 24) != le64(rec + 32))
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "zip64 entry counts disagree");
	*entries = le64(rec + 32);
	*cd_size = le64(rec + 40);
	*cd_off = le64(rec + 48);
	*limit = rec_off;
	return 1;
}

static int verify_zip(int fd, uint64_t size, struct judge *j)
{
	if (size < EOCD_LEN)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "too short for an end of central directory");
	uint64_t tail_len = size < EOCD_LEN + MAX_COMMENT ? size : EOCD_LEN + MAX_COMMENT;
	uint64_t tail_off = size - tail_len;
	unsigned char *tail = malloc(tail_len);
	if (!tail)
		return -1;
	int r = read_exact(fd, tail, tail_len, tail_off);
	if (r <= 0) {
		free(tail);
		return r < 0 ? -1 : verdict(j, CKPTD_VERIFY_INCOMPLETE, "file shrank while read");
	}
	/* The last signature whose comment ends exactly at the end of file. */
	uint64_t eocd = 0;
	bool found = false;
	for (uint64_t p = tail_len - EOCD_LEN + 1; p-- > 0;) {
		if (le32(tail + p) == ZIP_EOCD_SIG && p + EOCD_LEN + le16(tail + p + 20) == tail_len) {
			eocd = tail_off + p;
			found = true;
			break;
		}
	}
	if (!found) {
		free(tail);
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "no end of central directory at the end");
	}
	const unsigned char *e = tail + (eocd - tail_off);
	uint16_t disk = le16(e + 4), cd_disk = le16(e + 6);
	uint16_t ent_disk = le16(e + 8), ent_total = le16(e + 10);
	uint32_t cd_size32 = le32(e + 12), cd_off32 = le32(e + 16);
	free(tail);

	uint64_t entries = ent_total, cd_size = cd_size32, cd_off = cd_off32, limit = eocd;
	if (ent_total == 0xFFFFu || ent_disk == 0xFFFFu || cd_size32 == 0xFFFFFFFFu ||
	    cd_off32 == 0xFFFFFFFFu || disk == 0xFFFFu || cd_disk == 0xFFFFu) {
		r = read_zip64(fd, eocd, &cd_off, &cd_size, &entries, &limit, j);
		if (r <= 0)
			return r;
	} else if (disk != 0 || cd_disk != 0 || ent_disk != ent_total) {
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "multi-disk zip");
	}
	if (cd_off > limit || cd_size > limit - cd_off)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "central directory beyond its end record");
	if (entries == 0)
		return settle(j, CKPTD_VERIFY_OK);
	if (cd_size < CD_ENTRY_LEN || entries > cd_size / CD_ENTRY_LEN)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "central directory too small");
	if (cd_size <= CD_WALK_MAX)
		return walk_cd(fd, cd_off, cd_size, entries, j);
	unsigned char sig[4];
	r = read_exact(fd, sig, sizeof sig, cd_off);
	if (r <= 0)
		return r < 0 ? -1 : verdict(j, CKPTD_VERIFY_INCOMPLETE, "file shrank while read");
	if (le32(sig) != ZIP_CD_SIG)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "no central directory where its end record says");
	return settle(j, CKPTD_VERIFY_OK);
}

/* Every tensor of the header object lies in the data section, and the
 * largest end is its size. */
static int check_tensors(struct json_object *hdr, uint64_t data_len, struct judge *j)
{
	uint64_t max_end = 0;
	json_object_object_foreach(hdr, key, val)
	{
		if (strcmp(key, "__metadata__") == 0)
			continue;
		struct json_object *offs;
		if (!json_object_is_type(val, json_type_object) ||
		    !json_object_object_get_ex(val, "data_offsets", &offs) ||
		    !json_object_is_type(offs, json_type_array) || json_object_array_length(offs) != 2)
			return verdict(j, CKPTD_VERIFY_INCOMPLETE, "tensor '%s' has no data_offsets", key);
		struct json_object *b = json_object_array_get_idx(offs, 0);
		struct json_object *e = json_object_array_get_idx(offs, 1);
		if (!json_object_is_type(b, json_type_int) || !json_object_is_type(e, json_type_int))
			return verdict(j, CKPTD_VERIFY_INCOMPLETE, "tensor '%s': data_offsets not integers", key);
		int64_t bv = json_object_get_int64(b), ev = json_object_get_int64(e);
		if (bv < 0 || ev < bv || (uint64_t)ev > data_len)
			return verdict(j, CKPTD_VERIFY_INCOMPLETE,
			               "tensor '%s' [%lld, %lld] outside the data (%llu bytes)", key,
			               (long long)bv, (long long)ev, (unsigned long long)data_len);
		if ((uint64_t)ev > max_end)
			max_end = (uint64_t)ev;
	}
	if (max_end != data_len)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "tensors end at %llu, data is %llu bytes",
		               (unsigned long long)max_end, (unsigned long long)data_len);
	return settle(j, CKPTD_VERIFY_OK);
}

static int verify_safetensors(int fd, uint64_t size, struct judge *j)
{
	unsigned char lenbuf[8];
	if (size < sizeof lenbuf)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "too short for a safetensors header");
	int r = read_exact(fd, lenbuf, sizeof lenbuf, 0);
	if (r <= 0)
		return r < 0 ? -1 : verdict(j, CKPTD_VERIFY_INCOMPLETE, "file shrank while read");
	uint64_t hlen = le64(lenbuf);
	if (hlen > size - 8)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "header length %llu beyond the end of file",
		               (unsigned long long)hlen);
	if (hlen > ST_HEADER_MAX || hlen < 2)
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "header length %llu out of range",
		               (unsigned long long)hlen);
	char *text = malloc(hlen);
	if (!text)
		return -1;
	r = read_exact(fd, text, hlen, 8);
	if (r <= 0) {
		free(text);
		return r < 0 ? -1 : verdict(j, CKPTD_VERIFY_INCOMPLETE, "file shrank while read");
	}
	struct json_tokener *tok = json_tokener_new();
	if (!tok) {
		free(text);
		errno = ENOMEM;
		return -1;
	}
	struct json_object *hdr = json_tokener_parse_ex(tok, text, (int)hlen);
	size_t used = json_tokener_get_parse_end(tok);
	bool trailing_ok = true;
	for (size_t i = used; i < hlen; i++)  /* the writer pads with spaces */
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
			trailing_ok = false;
	json_tokener_free(tok);
	free(text);
	if (!hdr || !trailing_ok || !json_object_is_type(hdr, json_type_object)) {
		json_object_put(hdr);
		return verdict(j, CKPTD_VERIFY_INCOMPLETE, "header is not a JSON object");
	}
	r = check_tensors(hdr, size - 8 - hlen, j);
	json_object_put(hdr);
	return r;
}

static bool is_safetensors(const char *name)
{
	static const char ext[] = ".safetensors";
	size_t n = name ? strlen(name) : 0, k = sizeof ext - 1;
	return n > k && strcasecmp(name + n - k, ext) == 0;
}

int verify_fd(int fd, const char *name, long long size, enum ckptd_verdict *out,
              char *why, size_t whylen)
{
	if (size < 0 || !out) {
		errno = EINVAL;
		return -1;
	}
	struct judge j = { out, why, whylen };
	if (why && whylen)
		why[0] = '\0';
	if (is_safetensors(name))
		return verify_safetensors(fd, (uint64_t)size, &j);
	unsigned char magic[4];
	if (size < (long long)sizeof magic)
		return settle(&j, CKPTD_VERIFY_UNKNOWN);
	int r = read_exact(fd, magic, sizeof magic, 0);
	if (r < 0)
		return -1;
	if (r == 0)
		return verdict(&j, CKPTD_VERIFY_INCOMPLETE, "file shrank while read");
	uint32_t sig = le32(magic);
	/* A zip starts with a local header, or is an empty archive. */
	if (sig == ZIP_LOCAL_SIG || (sig == ZIP_EOCD_SIG && size == EOCD_LEN))
		return verify_zip(fd, (uint64_t)size, &j);
	return settle(&j, CKPTD_VERIFY_UNKNOWN);
}

int verify_file_at(int dirfd, const char *name, enum ckptd_verdict *out, char *why, size_t whylen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	int r = verify_fd(fd, name, (long long)st.st_size, out, why, whylen);
	int e = errno;
	(void)close(fd);  /* read only: a failing close loses nothing */
	errno = e;
	return r;
}
