/*
 * sim-stats.c: posgw-sim judging the agency's P:Statistics uploads as ПОС
 * would (formats/smev/README.md): the `new` count of every ЛКО x category
 * x territory must equal what the simulator issued there in the period; the
 * counts it cannot know (in work, overdue, repeated, answered) must be
 * consistent with what it issued; each statistics id is uploaded once.
 * Answered P:StatisticsAccepted, or P:StatisticsRefused TOTALS_MISMATCH
 * with the first difference found.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "sim.h"
#include "xmalloc.h"
#include "xmlsafe.h"

#define SIM_STATS_MAX_ROWS 10000           /* P:Row of one upload */
#define SIM_STATS_DEFAULT_OKTMO "29701000" /* P:Organization/@oktmo */

/* What the simulator issued for one ЛКО x category x territory. */
struct sim_stats_key {
	const char *lko, *category, *oktmo;
	unsigned long in_period; /* filed within the period */
	unsigned long by_end;    /* filed by its last day */
	int seen;                /* a row named it */
};

/* The row counts, in the order of sim_stats_counts. */
static const char *const sim_stats_counts[] = {
    "new", "inWork", "overdue", "repeated", "answered"};
#define SIM_STATS_NCOUNTS 5

static struct sim_stats_key *sim_stats_expect(
    struct sim *s, const char *from, const char *to, size_t *nkeys);
static int sim_stats_rows(struct sim *s, xmlNodePtr st, struct sim_stats_key *k,
    size_t nk, struct error *why);
static int sim_stats_same(const char *a, const char *b);

/* True if two optional strings are equal (NULL and "" alike). */
static int
sim_stats_same(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/*
 * The simulator's own counts per ЛКО x category x territory of the appeals
 * it issued: filed within [from, to] and filed by to.
 */
static struct sim_stats_key *
sim_stats_expect(struct sim *s, const char *from, const char *to, size_t *nkeys)
{
	struct sim_stats_key *k = NULL;
	const struct sim_appeal *a;
	const char *lko, *oktmo;
	size_t i, j, n = 0;

	for (i = 0; i < sim_total(s); i++) {
		a = &s->ap[i];
		if (!a->issued || strcmp(a->created, to) > 0)
			continue;
		lko = s->o.lko_ids[a->lko];
		oktmo = a->oktmo >= 0 ? s->o.oktmo[a->oktmo]
		                      : SIM_STATS_DEFAULT_OKTMO;
		for (j = 0; j < n; j++)
			if (strcmp(k[j].lko, lko) == 0 &&
			    strcmp(k[j].category, a->category) == 0 &&
			    strcmp(k[j].oktmo, oktmo) == 0)
				break;
		if (j == n) {
			k = xreallocarray(k, n + 1, sizeof *k);
			memset(&k[n], 0, sizeof *k);
			k[n].lko = lko;
			k[n].category = a->category;
			k[n].oktmo = oktmo;
			n++;
		}
		k[j].by_end++;
		if (strcmp(a->created, from) >= 0)
			k[j].in_period++;
	}
	*nkeys = n;
	return k;
}

/*
 * Check every P:Row against the simulator's counts k[nk]: 0 if they match,
 * -1 with the first difference or format problem in why.
 */
static int
sim_stats_rows(struct sim *s, xmlNodePtr st, struct sim_stats_key *k, size_t nk,
    struct error *why)
{
	unsigned long c[SIM_STATS_NCOUNTS];
	const char *lko, *cat, *oktmo, *v;
	size_t rows = 0, i, j;
	xmlNodePtr r;
	char q[128];

	(void)s;
	for (r = st->children; r != NULL; r = r->next) {
		if (r->type != XML_ELEMENT_NODE)
			continue;
		if (!xmlsafe_is(r, SIM_NS_P, "Row"))
			return err_set(why, ERR_NONE,
			    "P:Statistics holds only P:Row, not %s",
			    sim_xml_qname(r, q, sizeof q));
		if (++rows > SIM_STATS_MAX_ROWS)
			return err_set(why, ERR_NONE, "more than %d P:Row",
			    SIM_STATS_MAX_ROWS);
		for (i = 0; i < SIM_STATS_NCOUNTS; i++) {
			if ((v = sim_xml_attr(r, sim_stats_counts[i], why)) ==
			    NULL)
				return -1;
			if (!sim_xml_digits(v, 9))
				return err_set(why, ERR_NONE,
				    "P:Row %s '%.40s' is not a count",
				    sim_stats_counts[i], v);
			c[i] = strtoul(v, NULL, 10);
		}
		lko = xmlsafe_attr(r, "lkoId");
		cat = xmlsafe_attr(r, "category");
		oktmo = xmlsafe_attr(r, "oktmo");
		for (j = 0; j < nk; j++)
			if (sim_stats_same(k[j].lko, lko) &&
			    sim_stats_same(k[j].category, cat) &&
			    sim_stats_same(k[j].oktmo, oktmo))
				break;
		if (j < nk && k[j].seen)
			return err_set(why, ERR_NONE,
			    "ЛКО %s category %s territory %s has two rows",
			    lko ? lko : "-", cat ? cat : "-",
			    oktmo ? oktmo : "-");
		if (j < nk)
			k[j].seen = 1;
		if (c[0] != (j < nk ? k[j].in_period : 0))
			return err_set(why, ERR_NONE,
			    "ЛКО %s category %s territory %s: new=%lu, ПОС "
			    "sent %lu in the period",
			    lko ? lko : "-", cat ? cat : "-",
			    oktmo ? oktmo : "-", c[0],
			    j < nk ? k[j].in_period : 0);
		/* in work, overdue and answered come from appeals filed by
		 * the period's end; repeated ones are new ones */
		if (c[1] > (j < nk ? k[j].by_end : 0) ||
		    c[2] > (j < nk ? k[j].by_end : 0) ||
		    c[4] > (j < nk ? k[j].by_end : 0) || c[3] > c[0])
			return err_set(why, ERR_NONE,
			    "ЛКО %s category %s territory %s: inWork=%lu "
			    "overdue=%lu answered=%lu repeated=%lu do not fit "
			    "the %lu appeal(s) ПОС sent by the period's end",
			    lko ? lko : "-", cat ? cat : "-",
			    oktmo ? oktmo : "-", c[1], c[2], c[4], c[3],
			    j < nk ? k[j].by_end : 0);
	}
	for (j = 0; j < nk; j++)
		if (!k[j].seen && k[j].in_period > 0)
			return err_set(why, ERR_NONE,
			    "no row for ЛКО %s category %s territory %s, where "
			    "ПОС sent %lu appeal(s) in the period",
			    k[j].lko, k[j].category, k[j].oktmo,
			    k[j].in_period);
	return 0;
}

/*
 * Judge one P:Statistics upload (request cid, file name, already moved to
 * out/sent/) and answer it: accepted if its totals match, else refused.
 */
void
sim_stats_upload(
    struct sim *s, const char *name, const char *cid, xmlNodePtr st)
{
	struct sim_stats_key *k = NULL;
	struct error why = {0};
	const char *id, *from = NULL, *to = NULL;
	size_t nk = 0, i;
	int bad = 0;

	s->c.stats++;
	if (sim_rng_percent(&s->dec, 10))
		sim_in_transport(s, cid);
	if ((id = sim_xml_attr(st, "id", &why)) == NULL || !sim_is_uuid(id)) {
		if (why.text[0] == '\0')
			err_set(&why, ERR_NONE, "id is not a UUID");
		bad = 1;
	} else if ((from = sim_xml_attr(st, "periodFrom", &why)) == NULL ||
	           (to = sim_xml_attr(st, "periodTo", &why)) == NULL ||
	           !sim_xml_date(from) || !sim_xml_date(to) ||
	           strcmp(from, to) > 0) {
		if (why.text[0] == '\0')
			err_set(&why, ERR_NONE,
			    "periodFrom and periodTo are not a period of "
			    "dates");
		bad = 1;
	}
	for (i = 0; !bad && i < s->nstats_ids; i++)
		if (strcmp(s->stats_ids[i], id) == 0) {
			err_set(&why, ERR_NONE,
			    "statistics %s were uploaded before", id);
			bad = 1;
		}
	if (!bad) {
		s->stats_ids = xreallocarray(
		    s->stats_ids, s->nstats_ids + 1, sizeof *s->stats_ids);
		snprintf(
		    s->stats_ids[s->nstats_ids++], SIM_UUID_LEN + 1, "%s", id);
		k = sim_stats_expect(s, from, to, &nk);
		if (sim_stats_rows(s, st, k, nk, &why) == -1)
			bad = 1;
		free(k);
	}
	if (bad) {
		s->c.stats_bad++;
		sim_in_stats_verdict(s, cid,
		    id != NULL && sim_is_uuid(id) ? id
		                                  : "00000000-0000-0000-0000-"
		                                    "000000000000",
		    "TOTALS_MISMATCH", why.text);
		sim_log(s, "statistics %s refused TOTALS_MISMATCH: %s", name,
		    why.text);
		return;
	}
	sim_in_stats_verdict(s, cid, id, NULL, NULL);
	sim_log(
	    s, "statistics %s for %s..%s accepted (%s)", id, from, to, name);
}
