/*
 * edms.c: the EDMS exchange contract shared by posgw-core and posgw edms:
 * the core's tables, deadlines, allowed transitions, reading and checking an
 * event file of the import folder, and writing one.
 *
 * The import contract: an event file is <import>/<anything>.xml (written as a
 * dot file and renamed into place), an <event> document of event.xsd in
 * which file/@path and file/@signature are plain file names in the import
 * folder (no '/', no leading '.', not ending in .xml), each answer file
 * written there before the event file, each with its detached CMS signature
 * (DER or PEM) by an official whom [edms] signer_trust trusts.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/pkcs7.h>
#include <libxml/tree.h>

#include "edms.h"
#include "filename.h"
#include "fsutil.h"
#include "log.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* Forward migrations of the core's tables; [i] takes version i to i+1. */
static const char *const edms_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE IF NOT EXISTS core_appeals ("
    " pos_id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " created TEXT NOT NULL,"
    " registered_at TEXT,"
    " due TEXT,"
    " last_n INTEGER NOT NULL DEFAULT 0,"
    " state TEXT NOT NULL CHECK (state IN ('new', 'registered',"
    " 'in_work', 'postponed', 'forwarded', 'declined', 'answered')),"
    " postpones INTEGER NOT NULL DEFAULT 0,"
    " feedbacks INTEGER NOT NULL DEFAULT 0,"
    " reappeal INTEGER NOT NULL DEFAULT 0,"
    " exported_at INTEGER NOT NULL,"
    " document_id INTEGER,"
    " category TEXT, category_name TEXT,"
    " subcategory TEXT, subcategory_name TEXT,"
    " sstu TEXT);"
    "CREATE TABLE IF NOT EXISTS core_events ("
    " pos_id TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " type TEXT NOT NULL,"
    " at TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " document_id INTEGER,"
    " source TEXT,"
    " digest TEXT,"
    " accepted INTEGER NOT NULL,"
    " outcome TEXT,"
    " PRIMARY KEY (pos_id, n));"
    "CREATE TABLE IF NOT EXISTS core_topics ("
    " pos_code TEXT PRIMARY KEY,"
    " sstu_code TEXT NOT NULL,"
    " name TEXT,"
    " line INTEGER NOT NULL);",
};

/* Media types by file extension, for answer files posgw edms writes. */
static const struct {
	const char *ext;
	const char *type;
} edms_media[] = {
    {"pdf", "application/pdf"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument."
             "wordprocessingml.document"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"rtf", "application/rtf"},
    {"txt", "text/plain"},
    {"xml", "application/xml"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"png", "image/png"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"zip", "application/zip"},
    {"sig", "application/pkcs7-signature"},
};

/* Fill a rejection reason; returns -1. */
int
edms_why(struct edms_why *why, const char *what, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	why->what = what;
	va_start(ap, fmt);
	vsnprintf(why->text, sizeof why->text, fmt, ap);
	va_end(ap);
	len = strlen(why->text);
	while (len > 0 && isspace((unsigned char)why->text[len - 1]))
		why->text[--len] = '\0';
	return -1;
}

_Static_assert(
    sizeof edms_migrations / sizeof edms_migrations[0] == EDMS_SCHEMA_VERSION,
    "one migration per version of the core's tables");

/* The core's tables in the engine's database (meta key core_schema). */
const struct db_schema edms_db_schema = {
    "core", "core_schema", edms_migrations, EDMS_SCHEMA_VERSION};

/* True if the database has the core's tables (a core's database). */
int
edms_have_schema(struct db *db)
{
	return db_schema_version(db, &edms_db_schema) >= 1;
}

/* The gateway database of a configuration, newly allocated. */
char *
edms_db_path(const struct conf *c)
{
	char *p;

	xasprintf(&p, "%s/posgw.db", c->state);
	return p;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long
edms_days_from_civil(long y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Parse YYYY-MM-DD (a real calendar day) into days since 1970-01-01. */
int
edms_date_parse(const char *s, long *days)
{
	static const int mdays[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int i, y, m, d, leap;

	if (s == NULL || strlen(s) < 10)
		return -1;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return -1;
		} else if (!isdigit((unsigned char)s[i]))
			return -1;
	}
	if (s[10] != '\0' && s[10] != 'T')
		return -1;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1000 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	*days = edms_days_from_civil(y, m, d);
	return 0;
}

/* Format days since 1970-01-01 as YYYY-MM-DD into buf (11 bytes). */
void
edms_date_format(long z, char *buf)
{
	long era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(buf, 11, "%04u-%02u-%02u", (unsigned)y % 10000u,
	    (unsigned)m % 100u, (unsigned)d % 100u);
}

/* Today's date (local time) in days since 1970-01-01. */
long
edms_today(void)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	return edms_days_from_civil(
	    (long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/*
 * The due date of a newly exported appeal: a message is due message_days
 * after it was filed; a 59-FZ appeal appeal_days after registration, so
 * until it is registered, appeal_days after it was filed.
 */
int
edms_initial_due(
    const char *kind, const char *created, const struct conf_edms *e, char *due)
{
	long days;

	if (edms_date_parse(created, &days) == -1)
		return -1;
	days += strcmp(kind, "appeal59") == 0 ? (long)e->appeal_days
	                                      : (long)e->message_days;
	edms_date_format(days, due);
	return 0;
}

/* Copy a text column into a fixed buffer ("" for NULL). */
static void
edms_col(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
}

/* Load an appeal's row; 1 if found, 0 if the core does not know it. */
int
edms_appeal_load(struct db *db, const char *pos_id, struct edms_appeal *a)
{
	sqlite3_stmt *st;
	int found = 0;

	memset(a, 0, sizeof *a);
	st = db_prepare(db, "SELECT kind, created, state, due, registered_at,"
	                    " last_n, postpones FROM core_appeals"
	                    " WHERE pos_id = ?");
	sqlite3_bind_text(st, 1, pos_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(a->pos_id, sizeof a->pos_id, "%s", pos_id);
		edms_col(st, 0, a->kind, sizeof a->kind);
		edms_col(st, 1, a->created, sizeof a->created);
		edms_col(st, 2, a->state, sizeof a->state);
		edms_col(st, 3, a->due, sizeof a->due);
		edms_col(st, 4, a->registered, sizeof a->registered);
		a->last_n = (long)sqlite3_column_int64(st, 5);
		a->postpones = sqlite3_column_int(st, 6);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* True while an appeal still waits for the agency (counts toward overdue). */
int
edms_state_open(const char *state)
{
	return strcmp(state, "new") == 0 || strcmp(state, "registered") == 0 ||
	       strcmp(state, "in_work") == 0 || strcmp(state, "postponed") == 0;
}

/* A state as operators read it. */
const char *
edms_state_label(const char *state)
{
	return strcmp(state, "in_work") == 0 ? "in work" : state;
}

/* Apply a postpone to the due date, or say why it is not allowed. */
static int
edms_postpone(
    struct edms_appeal *a, const struct edms_event *ev, struct edms_why *why)
{
	long until, due;
	char lim[11];

	if (strcmp(a->kind, "appeal59") == 0 && a->postpones >= 1)
		return edms_why(why, "transition",
		    "appeal %s was postponed already; a 59-FZ appeal may be "
		    "postponed once",
		    a->pos_id);
	if (edms_date_parse(ev->date, &until) == -1)
		return edms_why(why, "schema",
		    "postpone/@until %s is not a date", ev->date);
	if (a->due[0] != '\0' && edms_date_parse(a->due, &due) == 0) {
		if (until <= due)
			return edms_why(why, "transition",
			    "postpone until %s is not after the due date %s "
			    "of appeal %s",
			    ev->date, a->due, a->pos_id);
		if (strcmp(a->kind, "appeal59") == 0 &&
		    until > due + EDMS_POSTPONE_DAYS) {
			edms_date_format(due + EDMS_POSTPONE_DAYS, lim);
			return edms_why(why, "transition",
			    "postpone until %s: 59-FZ allows at most %d more "
			    "days, i.e. until %s",
			    ev->date, EDMS_POSTPONE_DAYS, lim);
		}
	}
	a->postpones++;
	snprintf(a->due, sizeof a->due, "%s", ev->date);
	return 0;
}

/*
 * Check that ev is the next event of appeal a and that its type may follow
 * a's state, then apply it: new state, last_n, registration date, due date.
 * registered comes first (decline and forward may also come first: a
 * moderation refusal, a misrouted appeal); nothing follows decline, answer
 * or forward; take-to-work, set-executor, postpone and answer need a
 * registration; a 59-FZ appeal is postponed at most once, by at most 30
 * days; a 59-FZ appeal is due appeal_days after registration.
 */
int
edms_advance(struct edms_appeal *a, const struct edms_event *ev,
    const struct conf_edms *e, struct edms_why *why)
{
	const char *s = a->state, *t = ev->type, *next = s;
	long reg, created;

	if (ev->n <= a->last_n)
		return edms_why(why, "order",
		    "event n=%ld of appeal %s was accepted already; the next "
		    "one is n=%ld",
		    ev->n, a->pos_id, a->last_n + 1);
	if (ev->n != a->last_n + 1)
		return edms_why(why, "order",
		    "event n=%ld of appeal %s is not next: the next one is "
		    "n=%ld",
		    ev->n, a->pos_id, a->last_n + 1);
	if (strcmp(s, "declined") == 0 || strcmp(s, "answered") == 0 ||
	    strcmp(s, "forwarded") == 0)
		return edms_why(why, "transition",
		    "appeal %s was %s (event n=%ld); no %s may follow",
		    a->pos_id, s, a->last_n, t);
	if (strcmp(t, "registered") == 0) {
		if (strcmp(s, "new") != 0)
			return edms_why(why, "transition",
			    "appeal %s is registered already", a->pos_id);
		if (edms_date_parse(ev->date, &reg) == -1)
			return edms_why(why, "schema",
			    "registration/@date %s is not a date", ev->date);
		if (edms_date_parse(a->created, &created) == 0 &&
		    reg < created - 1)
			return edms_why(why, "transition",
			    "registration date %s is before appeal %s was "
			    "filed (%s)",
			    ev->date, a->pos_id, a->created);
		snprintf(a->registered, sizeof a->registered, "%s", ev->date);
		if (strcmp(a->kind, "appeal59") == 0)
			edms_date_format(reg + (long)e->appeal_days, a->due);
		next = "registered";
	} else if (strcmp(t, "decline") == 0) {
		next = "declined";
	} else if (strcmp(t, "forward") == 0) {
		next = "forwarded";
	} else if (strcmp(s, "new") == 0) {
		return edms_why(why, "transition",
		    "appeal %s is not registered yet: its first event must be "
		    "registered (or decline, forward), not %s",
		    a->pos_id, t);
	} else if (strcmp(t, "take-to-work") == 0) {
		next = "in_work";
	} else if (strcmp(t, "set-executor") == 0) {
		next = s;
	} else if (strcmp(t, "postpone") == 0) {
		if (edms_postpone(a, ev, why) == -1)
			return -1;
		next = "postponed";
	} else if (strcmp(t, "answer") == 0) {
		next = "answered";
	} else
		return edms_why(why, "schema", "unknown event type %s", t);
	if (next != a->state)
		snprintf(a->state, sizeof a->state, "%s", next);
	a->last_n = ev->n;
	return 0;
}

/*
 * Why a file/@path or file/@signature value is not a plain file name of the
 * import folder, or NULL when it is one.
 */
static const char *
edms_plain_why(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0)
		return "is empty";
	if (len > 255)
		return "is longer than 255 bytes";
	if (strchr(s, '/') != NULL || strchr(s, '\\') != NULL)
		return "contains a '/' or '\\': only plain file names of the "
		       "import folder are allowed";
	if (s[0] == '.')
		return "starts with '.' (dot files are work in progress)";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "contains a control character";
	if (strcmp(s, "rejected") == 0)
		return "names the rejected/ folder";
	if (len >= 4 && strcasecmp(s + len - 4, ".xml") == 0)
		return "ends in .xml (that would be read as an event file)";
	return NULL;
}

/* True if s may name a file in the import folder. */
int
edms_plain_name(const char *s)
{
	return edms_plain_why(s) == NULL;
}

/* True if s is 1..max decimal digits, the first not 0 when nozero. */
static int
edms_digits(const char *s, size_t max, int nozero)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > max ||
	    (nozero && s[0] == '0'))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * The name an answer file leaves the contour under: file/@name made safe
 * as names entering the EDMS are (formats/filename.c) and distinct within
 * the event; a changed name is written back into the document and logged.
 */
static char *
edms_file_name(xmlNodePtr node, const char *name, const struct edms_event *ev)
{
	char clean[FILENAME_MAX_BYTES + 1], **used;
	size_t i;

	if (name == NULL)
		return xstrdup(""); /* the schema check refuses it */
	filename_sanitize(name, clean, sizeof clean);
	used = xcalloc(ev->nfiles + 1, sizeof *used);
	for (i = 0; i + 1 < ev->nfiles; i++)
		used[i] = ev->files[i].name;
	filename_unique(clean, sizeof clean, used, ev->nfiles - 1);
	free(used);
	if (strcmp(clean, name) != 0) {
		log_info("event %s/%ld: answer file name \"%.200s\" is sent "
		         "as \"%s\"",
		    ev->pos_id, ev->n, name, clean);
		xmlSetProp(
		    node, (const xmlChar *)"name", (const xmlChar *)clean);
	}
	return xstrdup(clean);
}

/* Record one file element and rewrite its references to payload paths. */
static int
edms_file_node(xmlNodePtr node, const char *label, struct edms_event *ev,
    struct edms_why *why)
{
	const char *path = xmlsafe_attr(node, "path");
	const char *sig = xmlsafe_attr(node, "signature");
	const char *name = xmlsafe_attr(node, "name");
	const char *size = xmlsafe_attr(node, "size");
	const char *r;
	struct edms_file *f;

	if (ev->nfiles >= EDMS_MAX_FILES)
		return edms_why(why, "schema", "%s: more than %d files", label,
		    EDMS_MAX_FILES);
	if (path != NULL && (r = edms_plain_why(path)) != NULL)
		return edms_why(why, "file",
		    "%s: line %ld: file/@path \"%.100s\" %s", label,
		    xmlGetLineNo(node), path, r);
	if (sig != NULL && (r = edms_plain_why(sig)) != NULL)
		return edms_why(why, "file",
		    "%s: line %ld: file/@signature \"%.100s\" %s", label,
		    xmlGetLineNo(node), sig, r);
	ev->files = xreallocarray(ev->files, ev->nfiles + 1, sizeof *ev->files);
	f = &ev->files[ev->nfiles++];
	memset(f, 0, sizeof *f);
	f->rel = xstrdup(path != NULL ? path : "");
	f->sig = xstrdup(sig != NULL ? sig : "");
	f->name = edms_file_name(node, name, ev);
	/* the schema check that follows makes it canonical decimal */
	f->size = size != NULL ? strtoull(size, NULL, 10) : 0;
	snprintf(f->path, sizeof f->path, "payload/att/%s-e%ld-%zu.bin",
	    ev->pos_id, ev->n, ev->nfiles);
	snprintf(f->sigpath, sizeof f->sigpath, "payload/att/%s-e%ld-%zu.p7s",
	    ev->pos_id, ev->n, ev->nfiles);
	if (path != NULL)
		xmlSetProp(
		    node, (const xmlChar *)"path", (const xmlChar *)f->path);
	if (sig != NULL)
		xmlSetProp(node, (const xmlChar *)"signature",
		    (const xmlChar *)f->sigpath);
	return 0;
}

/* Walk the document for file elements (depth is bounded by the parser). */
static int
edms_walk(xmlNodePtr node, const char *label, struct edms_event *ev,
    struct edms_why *why)
{
	xmlNodePtr c;

	for (c = node; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (xmlsafe_is(c, NS_EXCHANGE, "file") &&
		    edms_file_node(c, label, ev, why) == -1)
			return -1;
		if (edms_walk(c->children, label, ev, why) == -1)
			return -1;
	}
	return 0;
}

/*
 * Check a parsed event document against the import contract and rewrite it
 * for sending: file references must be plain names of the import folder and
 * become payload/att/<pos-id>-e<n>-<k>.bin and .p7s; then the document must
 * match the exchange schema, be an <event>, and carry the child its type
 * names. Takes the document (edms_event_free frees it).
 */
int
edms_event_prepare(xmlDocPtr doc, const char *label, struct edms_event *ev,
    struct edms_why *why)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), c, child = NULL;
	const char *pos, *n, *v, *want;
	struct error e = {0};

	memset(ev, 0, sizeof *ev);
	ev->doc = doc;
	if (!xmlsafe_is(root, NS_EXCHANGE, "event"))
		return edms_why(why, "schema",
		    "%s: the root element is <%s>; an event file holds an "
		    "<event> of namespace %s",
		    label, root != NULL ? (const char *)root->name : "",
		    NS_EXCHANGE);
	pos = xmlsafe_attr(root, "pos-id");
	n = xmlsafe_attr(root, "n");
	if (!edms_digits(pos, 20, 0))
		return edms_why(why, "schema",
		    "%s: event/@pos-id is missing or not 1..20 digits", label);
	if (!edms_digits(n, 9, 1))
		return edms_why(why, "schema",
		    "%s: event/@n is missing or not a number 1..999999999",
		    label);
	snprintf(ev->pos_id, sizeof ev->pos_id, "%s", pos);
	ev->n = strtol(n, NULL, 10);
	if (edms_walk(root->children, label, ev, why) == -1)
		return -1;
	if (schema_validate(SCHEMA_EXCHANGE, doc, label, ERR_PAYLOAD, &e) == -1)
		return edms_why(why, "schema", "%s", e.text);
	v = xmlsafe_attr(root, "type");
	snprintf(ev->type, sizeof ev->type, "%s", v != NULL ? v : "");
	v = xmlsafe_attr(root, "at");
	snprintf(ev->at, sizeof ev->at, "%s", v != NULL ? v : "");
	for (c = root->children; c != NULL && child == NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			child = c;
	want = payload_event_child(ev->type);
	if (want == NULL || child == NULL ||
	    strcmp((const char *)child->name, want) != 0)
		return edms_why(why, "schema",
		    "%s: an event of type %s must carry <%s>", label, ev->type,
		    want != NULL ? want : "?");
	if ((v = xmlsafe_attr(child, "date")) != NULL ||
	    (v = xmlsafe_attr(child, "until")) != NULL)
		snprintf(ev->date, sizeof ev->date, "%s", v);
	return 0;
}

/*
 * Read and prepare <dir>/<name>. Returns 0, -1 when the file is to be
 * rejected (why says why; *malformed is set when it is not well-formed XML,
 * which a writer still at work also produces), or -2 on our own trouble
 * (why->text says what).
 */
int
edms_event_read(const char *dir, const char *name, const struct pkg_limits *l,
    struct edms_event *ev, struct edms_why *why, int *malformed)
{
	struct error e = {0};
	xmlDocPtr doc;
	char *path;

	*malformed = 0;
	memset(ev, 0, sizeof *ev);
	xasprintf(&path, "%s/%s", dir, name);
	doc = xmlsafe_parse_file(
	    path, (size_t)l->max_xml, l->max_depth, ERR_PAYLOAD, &e);
	free(path);
	if (doc == NULL) {
		if (e.code == ERR_NONE) {
			edms_why(why, "file", "%s", e.text);
			return -2;
		}
		*malformed = strstr(e.text, "not well-formed") != NULL;
		return edms_why(
		    why, e.code == ERR_SIZE ? "size" : "xml", "%s", e.text);
	}
	return edms_event_prepare(doc, name, ev, why);
}

/* Free an event and its document. */
void
edms_event_free(struct edms_event *ev)
{
	size_t i;

	if (ev->doc != NULL)
		xmlFreeDoc(ev->doc);
	for (i = 0; i < ev->nfiles; i++) {
		free(ev->files[i].rel);
		free(ev->files[i].sig);
		free(ev->files[i].name);
	}
	free(ev->files);
	memset(ev, 0, sizeof *ev);
}

/* Order waiting events by n. */
static int
edms_cmp_n(const void *a, const void *b)
{
	const struct edms_event *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

/*
 * The event files of one appeal waiting in the import folder that the core
 * would accept as documents (their order and transitions are not checked),
 * sorted by n.
 */
int
edms_waiting(const char *dir, const char *pos_id, const struct pkg_limits *l,
    struct edms_event **out, size_t *nout)
{
	struct edms_event ev, *evs = NULL;
	struct edms_why why;
	char **names;
	size_t n = 0, nnames, i;
	int malformed;

	*out = NULL;
	*nout = 0;
	if (fs_xml_names(dir, 0, &names, &nnames) == -1)
		return -1;
	for (i = 0; i < nnames; i++) {
		if (edms_event_read(dir, names[i], l, &ev, &why, &malformed) !=
		        0 ||
		    strcmp(ev.pos_id, pos_id) != 0) {
			edms_event_free(&ev);
			continue;
		}
		evs = xreallocarray(evs, n + 1, sizeof *evs);
		evs[n++] = ev;
	}
	fs_names_free(names, nnames);
	if (n > 0)
		qsort(evs, n, sizeof *evs, edms_cmp_n);
	*out = evs;
	*nout = n;
	return 0;
}

/* Load [edms] signer_trust: the officials whose answer signatures count. */
struct trust *
edms_trust_load(const struct conf_edms *e, struct error *err)
{
	struct trust *t = trust_new();
	size_t i;

	for (i = 0; i < e->nsigner_trust; i++) {
		if (trust_add_file(t, e->signer_trust[i], err) == -1) {
			char text[sizeof err->text];
			snprintf(text, sizeof text, "%s", err->text);
			err_set(err, ERR_NONE,
			    "[edms] signer_trust: %s; give the officials' "
			    "certificates or their CA",
			    text);
			trust_free(t);
			return NULL;
		}
	}
	if (i == 0) {
		trust_free(t);
		err_set(err, ERR_NONE,
		    "[edms] signer_trust is required: the officials' "
		    "certificates or their CA");
		return NULL;
	}
	return t;
}

/* Read a whole small file (at most max bytes) into memory. */
static int
edms_slurp(const char *path, size_t max, unsigned char **buf, size_t *len,
    struct error *err)
{
	struct stat sb;
	size_t off = 0;
	ssize_t n;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(
		    err, ERR_NONE, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(err, ERR_NONE, "%s is not a regular file", path);
	}
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		return err_set(err, ERR_SIZE,
		    "%s has %lld bytes, more than %zu", path,
		    (long long)sb.st_size, max);
	}
	*buf = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		n = read(fd, *buf + off, (size_t)sb.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	*len = off;
	return 0;
}

/* The CN of the certificate in a CMS that its single SignerInfo names. */
static void
edms_signer_cn(gnutls_pkcs7_t p7, char *cn, size_t len)
{
	gnutls_pkcs7_signature_info_st info;
	gnutls_x509_crt_t crt;
	gnutls_datum_t raw, dn;
	unsigned char serial[64];
	size_t slen;
	int i, n, match;

	cn[0] = '\0';
	if (gnutls_pkcs7_get_signature_info(p7, 0, &info) < 0)
		return;
	n = gnutls_pkcs7_get_crt_count(p7);
	for (i = 0; i < n && i < 16 && cn[0] == '\0'; i++) {
		if (gnutls_pkcs7_get_crt_raw2(p7, (unsigned)i, &raw) < 0)
			continue;
		gnutls_x509_crt_init(&crt);
		match = 0;
		if (gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_DER) >=
		        0 &&
		    gnutls_x509_crt_get_raw_issuer_dn(crt, &dn) >= 0) {
			slen = sizeof serial;
			match =
			    dn.size == info.issuer_dn.size &&
			    memcmp(dn.data, info.issuer_dn.data, dn.size) ==
			        0 &&
			    gnutls_x509_crt_get_serial(crt, serial, &slen) >=
			        0 &&
			    slen == info.signer_serial.size &&
			    memcmp(serial, info.signer_serial.data, slen) == 0;
			gnutls_free(dn.data);
		}
		if (match && cert_cn(crt, cn, len) == -1)
			cn[0] = '\0';
		gnutls_x509_crt_deinit(crt);
		gnutls_free(raw.data);
	}
	gnutls_pkcs7_signature_info_deinit(&info);
}

/* Replace the first occurrence of from in s (of size len) by to. */
static void
edms_replace(char *s, size_t len, const char *from, const char *to)
{
	char *p = strstr(s, from), *rest;

	if (p == NULL)
		return;
	rest = xstrdup(p + strlen(from));
	*p = '\0';
	snprintf(p, len - (size_t)(p - s), "%s%s", to, rest);
	free(rest);
}

/*
 * Check one answer file: data is a regular file of exactly size bytes and
 * sigpath its detached CMS signature (DER or PEM) by a certificate that
 * chains to the trust list (any CN: the signer certificate's own). rel and
 * sigrel name them in reasons.
 */
int
edms_file_verify(const char *rel, const char *data, const char *sigrel,
    const char *sigpath, uint64_t size, struct trust *t, unsigned algs,
    struct edms_why *why)
{
	unsigned char *sig = NULL;
	gnutls_datum_t in, der = {NULL, 0};
	gnutls_pkcs7_t p7 = NULL;
	struct sig_info si;
	struct error e = {0};
	struct stat sb;
	void *map = NULL;
	size_t siglen;
	char cn[256];
	int fd, rc = -1, pem;

	if ((fd = open(data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return edms_why(
		    why, "file", "answer file %s: %s", rel, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return edms_why(
		    why, "file", "answer file %s is not a regular file", rel);
	}
	if ((uint64_t)sb.st_size != size) {
		close(fd);
		return edms_why(why, "size",
		    "answer file %s has %lld bytes, the event says %llu", rel,
		    (long long)sb.st_size, (unsigned long long)size);
	}
	if (sb.st_size > 0 && (map = mmap(NULL, (size_t)sb.st_size, PROT_READ,
	                           MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return edms_why(why, "file", "cannot read answer file %s: %s",
		    rel, strerror(errno));
	}
	close(fd);
	if (edms_slurp(sigpath, EDMS_SIG_MAX, &sig, &siglen, &e) == -1) {
		edms_why(why, "signature", "signature %s of %s: %s", sigrel,
		    rel,
		    e.code == ERR_SIZE ? "larger than 1 MiB" : strerror(errno));
		goto out;
	}
	pem = siglen >= 10 && memmem(sig, siglen, "-----BEGIN", 10) != NULL;
	in.data = sig;
	in.size = (unsigned)siglen;
	gnutls_pkcs7_init(&p7);
	if (gnutls_pkcs7_import(
	        p7, &in, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_pkcs7_export2(p7, GNUTLS_X509_FMT_DER, &der) < 0) {
		edms_why(why, "signature",
		    "signature %s of %s is not a CMS SignedData (DER or PEM)",
		    sigrel, rel);
		goto out;
	}
	edms_signer_cn(p7, cn, sizeof cn);
	if (sig_verify_named(sigrel, rel, t, map != NULL ? map : "",
	        (size_t)sb.st_size, der.data, der.size, cn, time(NULL), algs,
	        &si, &e) == -1) {
		edms_replace(e.text, sizeof e.text,
		    "a trusted peer certificate",
		    "an official of [edms] signer_trust");
		if (strncmp(e.text, sigrel, strlen(sigrel)) == 0)
			edms_why(why, "signature", "%s", e.text);
		else
			edms_why(why, "signature", "%s: %s", sigrel, e.text);
		goto out;
	}
	rc = 0;
out:
	if (p7 != NULL)
		gnutls_pkcs7_deinit(p7);
	gnutls_free(der.data);
	free(sig);
	if (map != NULL)
		munmap(map, (size_t)sb.st_size);
	return rc;
}

/* The media type of a file by its extension (octet-stream when unknown). */
static const char *
edms_media_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot != NULL)
		for (i = 0; i < sizeof edms_media / sizeof edms_media[0]; i++)
			if (strcasecmp(dot + 1, edms_media[i].ext) == 0)
				return edms_media[i].type;
	return "application/octet-stream";
}

/* Print text XML-escaped (for element content and attribute values). */
static void
edms_put(FILE *f, const char *s)
{
	xmlChar *esc = xmlEncodeSpecialChars(NULL, (const xmlChar *)s);

	fputs((const char *)esc, f);
	xmlFree(esc);
}

/* Print an optional attribute. */
static void
edms_put_attr(FILE *f, const char *name, const char *value)
{
	if (value == NULL)
		return;
	fprintf(f, " %s=\"", name);
	edms_put(f, value);
	fputc('"', f);
}

/* Print <name attrs>text</name> or <name attrs/>. */
static void
edms_put_text(FILE *f, const char *name, const char *text)
{
	if (text == NULL || *text == '\0') {
		fputs("/>\n", f);
		return;
	}
	fputc('>', f);
	edms_put(f, text);
	fprintf(f, "</%s>\n", name);
}

/*
 * The XML of a new event as the EDMS would drop it: files[] give the plain
 * names in the import folder, original names and sizes. Allocated in *xml.
 */
int
edms_event_xml(const struct edms_new *s, const struct edms_file *files,
    char **xml, size_t *len)
{
	char at[32];
	size_t i;
	FILE *f;

	time_format(time(NULL), at, sizeof at);
	if ((f = open_memstream(xml, len)) == NULL)
		fatal("open_memstream");
	fprintf(f,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<event xmlns=\"%s\" pos-id=\"%s\" n=\"%ld\" type=\"%s\"\n"
	    "       at=\"%s\">\n",
	    NS_EXCHANGE, s->pos_id, s->n, s->type, at);
	if (strcmp(s->type, "registered") == 0) {
		fputs("  <registration", f);
		edms_put_attr(f, "number", s->number);
		edms_put_attr(f, "date", s->date);
		fputs("/>\n", f);
	} else if (strcmp(s->type, "take-to-work") == 0) {
		fputs("  <take-to-work", f);
		edms_put_text(f, "take-to-work", s->text);
	} else if (strcmp(s->type, "set-executor") == 0) {
		fputs("  <executor", f);
		edms_put_attr(f, "position", s->position);
		edms_put_attr(f, "department", s->department);
		edms_put_text(f, "executor", s->text);
	} else if (strcmp(s->type, "postpone") == 0) {
		fputs("  <postpone", f);
		edms_put_attr(f, "until", s->until);
		edms_put_text(f, "postpone", s->text);
	} else if (strcmp(s->type, "forward") == 0) {
		fputs("  <forward", f);
		edms_put_attr(f, "direction", s->direction);
		edms_put_attr(f, "lko-id", s->lko_id);
		edms_put_text(f, "forward", s->text);
	} else if (strcmp(s->type, "decline") == 0) {
		fputs("  <decline", f);
		edms_put_text(f, "decline", s->text);
	} else if (strcmp(s->type, "answer") == 0) {
		fputs("  <answer>\n    <text>", f);
		edms_put(f, s->text != NULL ? s->text : "");
		fputs("</text>\n", f);
		for (i = 0; i < s->nfiles; i++) {
			fputs("    <file", f);
			edms_put_attr(f, "path", files[i].rel);
			edms_put_attr(f, "name", files[i].name);
			edms_put_attr(
			    f, "media-type", edms_media_type(files[i].name));
			fprintf(f, " size=\"%llu\"\n         ",
			    (unsigned long long)files[i].size);
			edms_put_attr(f, "signature", files[i].sig);
			fputs("/>\n", f);
		}
		fputs("  </answer>\n", f);
	}
	fputs("</event>\n", f);
	if (fclose(f) != 0)
		fatal("open_memstream");
	return 0;
}

/* Remove dir/name, ignoring errors. */
static void
edms_unlink_in(const char *dir, const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	unlink(p);
	free(p);
}

/*
 * Write a new event into the import folder exactly as an EDMS would: check
 * it with the core's own code first (contract, schema, the appeal's state
 * when a is given, sizes and signatures), then copy the answer files beside
 * it and write the XML as a dot file renamed into place. The event file's
 * name goes to out.
 */
int
edms_event_write(const struct conf *c, const struct edms_new *s,
    struct trust *t, const struct edms_appeal *a, char *out, size_t outlen,
    struct error *err)
{
	const char *dir = c->edms.import_dir, *base;
	struct edms_file *files;
	struct edms_event ev;
	struct edms_appeal next;
	struct edms_why why = {0};
	struct error e = {0};
	struct stat sb;
	char name[64], *xml = NULL, *path;
	xmlDocPtr doc;
	size_t len, i, made = 0;
	int rc = -1;

	files = xcalloc(s->nfiles + 1, sizeof *files);
	memset(&ev, 0, sizeof ev);
	for (i = 0; i < s->nfiles; i++) {
		if (stat(s->file_src[i], &sb) == -1 || !S_ISREG(sb.st_mode)) {
			err_set(err, ERR_NONE, "cannot read %s: %s",
			    s->file_src[i],
			    errno ? strerror(errno) : "not a regular file");
			goto out;
		}
		base = strrchr(s->file_src[i], '/');
		base = base != NULL ? base + 1 : s->file_src[i];
		xasprintf(
		    &files[i].rel, "%s-e%ld-%zu.bin", s->pos_id, s->n, i + 1);
		xasprintf(
		    &files[i].sig, "%s-e%ld-%zu.p7s", s->pos_id, s->n, i + 1);
		files[i].name = xstrdup(base);
		files[i].size = (uint64_t)sb.st_size;
	}
	snprintf(name, sizeof name, "%s-e%ld.xml", s->pos_id, s->n);
	edms_event_xml(s, files, &xml, &len);
	doc = xmlsafe_parse(
	    xml, len, name, XMLSAFE_DEFAULT_DEPTH, ERR_PAYLOAD, &e);
	if (doc == NULL) {
		err_set(err, ERR_NONE, "%s", e.text);
		goto out;
	}
	if (edms_event_prepare(doc, name, &ev, &why) == -1) {
		err_set(err, ERR_NONE,
		    "posgw-core would reject this event: %s: %s", why.what,
		    why.text);
		goto out;
	}
	if (a != NULL) {
		next = *a;
		if (edms_advance(&next, &ev, &c->edms, &why) == -1) {
			err_set(err, ERR_NONE,
			    "posgw-core would reject this event: %s: %s",
			    why.what, why.text);
			goto out;
		}
	}
	for (i = 0; i < s->nfiles; i++)
		if (edms_file_verify(s->file_src[i], s->file_src[i],
		        s->sig_src[i], s->sig_src[i], files[i].size, t,
		        c->x.verify.sig_algs, &why) == -1) {
			err_set(err, ERR_NONE,
			    "posgw-core would reject this event: %s: %s",
			    why.what, why.text);
			goto out;
		}
	xasprintf(&path, "%s/%s", dir, name);
	if (access(path, F_OK) == 0) {
		err_set(err, ERR_NONE,
		    "%s already exists: an event n=%ld of appeal %s is "
		    "waiting; "
		    "let posgw-core take it first",
		    path, s->n, s->pos_id);
		free(path);
		goto out;
	}
	free(path);
	for (i = 0; i < s->nfiles; i++) {
		if (fs_copy_file(s->file_src[i], dir, files[i].rel, 0660,
		        UINT64_MAX, FS_COPY_SYNC | FS_COPY_NOREPLACE,
		        err) == -1)
			break;
		made++;
		if (fs_copy_file(s->sig_src[i], dir, files[i].sig, 0660,
		        EDMS_SIG_MAX, FS_COPY_SYNC | FS_COPY_NOREPLACE,
		        err) == -1)
			break;
		made++;
	}
	if (i == s->nfiles &&
	    fs_write_file(dir, name, xml, len, 0660, 0, err) == 0) {
		snprintf(out, outlen, "%s", name);
		rc = 0;
		goto out;
	}
	/* take back our copies: no answer file without its event */
	for (i = 0; i < made; i++)
		edms_unlink_in(
		    dir, i % 2 == 0 ? files[i / 2].rel : files[i / 2].sig);
out:
	edms_event_free(&ev);
	for (i = 0; i < s->nfiles; i++) {
		free(files[i].rel);
		free(files[i].sig);
		free(files[i].name);
	}
	free(files);
	free(xml);
	return rc;
}
