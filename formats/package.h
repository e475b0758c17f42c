/*
 * package.h: exchange packages, format 1 (package.md): names, limits, the
 * streaming writer and the verifying reader.
 */
#ifndef POSGW_PACKAGE_H
#define POSGW_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libxml/tree.h>

#include "digest.h"
#include "error.h"
#include "manifest.h"
#include "sig.h"

#define PKG_SEQ_MAX 999999999999ULL
#define PKG_NAME_MAX 96

/* Receiver limits of package.md section 7. */
struct pkg_limits {
	uint64_t max_file;     /* package file size */
	uint64_t max_entries;  /* payload entries */
	uint64_t max_manifest; /* manifest.xml bytes */
	uint64_t max_xml;      /* any payload XML document */
	uint64_t max_entry;    /* any entry */
	uint64_t max_total;    /* sum of entry sizes */
	int max_depth;         /* XML element depth */
};

enum pkg_compress {
	PKG_COMPRESS_NONE = 0,
	PKG_COMPRESS_GZIP,
	PKG_COMPRESS_ZSTD
};

#define PKG_FILTER_NONE (1u << PKG_COMPRESS_NONE)
#define PKG_FILTER_GZIP (1u << PKG_COMPRESS_GZIP)
#define PKG_FILTER_ZSTD (1u << PKG_COMPRESS_ZSTD)
#define PKG_FILTER_ALL (PKG_FILTER_NONE | PKG_FILTER_GZIP | PKG_FILTER_ZSTD)

/* What a receiver checks against (own id, peer anchors, allow-lists). */
struct pkg_verify_opts {
	const char *own_id;
	struct trust *trust;
	struct pkg_limits limits;
	unsigned filters;  /* PKG_FILTER_* */
	unsigned digests;  /* DIGEST_ALLOW_* */
	unsigned sig_algs; /* SIG_ALLOW_* */
	time_t now;        /* 0: the current time */
	int discard;       /* hash attachments without keeping them */
};

/*
 * One verified entry, staged in a private directory. A reader keeps no
 * document in memory: each payload/<name>.xml is in the package's one
 * document file at off (pkg_entry_parse gives it back as a tree).
 */
struct pkg_entry {
	char *path; /* payload/... */
	uint64_t size;
	char digest[DIGEST_HEX_LEN + 1];
	char *staged;       /* file in the staging directory (attachments) */
	unsigned char *mem; /* or the bytes in memory (writer, spool) */
	size_t memlen;
	uint64_t off;     /* or at off in the document file (reader) */
	xmlDocPtr doc;    /* or parsed by the caller (never freed by payload) */
	const char *kind; /* root element of a checked document (static) */
};

/* A package that passed every stateless check. */
struct pkg {
	char name[PKG_NAME_MAX];
	struct manifest m;
	char manifest_digest[DIGEST_HEX_LEN +
	                     1]; /* Streebog-256 of manifest.xml */
	struct sig_info sig;
	uint64_t file_size;
	enum pkg_compress compress;
	struct pkg_entry *entries;
	size_t nentries;
	char *stagedir;
	char *manifest_path;      /* staged manifest.xml */
	char *p7s_path;           /* staged manifest.xml.p7s */
	int docfd;                /* the staged documents, one after another */
	struct pkg_limits limits; /* the reader's, for pkg_entry_parse */
};

struct pkg_writer;

struct archive;
const char *pkg_archive_error(struct archive *);
void pkg_limits_default(struct pkg_limits *);
int pkg_size_parse(const char *, uint64_t *);
int pkg_limits_set(struct pkg_limits *, const char *, struct error *);
void pkg_verify_opts_default(struct pkg_verify_opts *);
bool pkg_id_valid(const char *);
bool pkg_uuid_valid(const char *);
bool pkg_path_valid(const char *);
bool pkg_doc_path(const char *);
int pkg_name_parse(const char *, char *, uint64_t *, char *);
void pkg_name_format(char *, size_t, const char *, uint64_t, const char *);
void pkg_uuid_new(char *);
int pkg_time_parse(const char *, time_t *);
void pkg_time_format(time_t, char *, size_t);
int pkg_compress_from_name(const char *, enum pkg_compress *);
const char *pkg_compress_name(enum pkg_compress);

struct pkg_writer *pkg_writer_new(struct signer *, const char *, uint64_t,
    enum pkg_compress, enum digest_alg);
int pkg_writer_add_file(
    struct pkg_writer *, const char *, const char *, struct error *);
int pkg_writer_add_stored(struct pkg_writer *, const char *, const char *,
    enum digest_alg, const char *, struct error *);
int pkg_writer_add_mem(
    struct pkg_writer *, const char *, const void *, size_t, struct error *);
void pkg_writer_set_limits(struct pkg_writer *, const struct pkg_limits *);
int pkg_writer_set_spill(struct pkg_writer *, const char *, struct error *);
void pkg_writer_set_identity(struct pkg_writer *, const char *, time_t);
void pkg_writer_set_scratch(struct pkg_writer *);
const char *pkg_writer_manifest_digest(const struct pkg_writer *);
int pkg_writer_write(
    struct pkg_writer *, const char *, char *, size_t, struct error *);
void pkg_writer_free(struct pkg_writer *);
int pkg_writer_header(struct archive *, const char *, uint64_t, time_t);
int pkg_writer_data(struct archive *, const void *, size_t);

struct pkg *pkg_read(
    const char *, const char *, const struct pkg_verify_opts *, struct error *);
const struct pkg_entry *pkg_entry_find(const struct pkg *, const char *);
xmlDocPtr pkg_entry_parse(
    const struct pkg *, const struct pkg_entry *, struct error *);
int pkg_extract(const struct pkg *, const char *, struct error *);
void pkg_free(struct pkg *);

void payload_foreach_ref(xmlNodePtr, void (*)(const char *, void *), void *);
const char *payload_event_child(const char *);
unsigned char *payload_bytes(const struct pkg_entry *, int, struct error *);
xmlDocPtr payload_parse(
    const struct pkg_entry *, int, const struct pkg_limits *, struct error *);
int payload_check(
    struct pkg_entry *, size_t, int, const struct pkg_limits *, struct error *);

#endif
