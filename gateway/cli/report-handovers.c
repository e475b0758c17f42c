/*
 * report-handovers.c: the hand-overs section of posgw journal report: the
 * media this gateway exported, imported or refused in the period (table
 * handovers, transfer/media-handover.c) and, with --peer, what the other
 * side recorded of each.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "report.h"

static const char *report_handovers_ru(const char *direction);
static const char *report_handovers_peer(
    struct report *r, const char *direction, const char *digest, int64_t at);
static int report_handovers_has(struct report *r, const char *direction,
    const char *digest, int superseded);

/* A direction of the table handovers in words. */
static const char *
report_handovers_ru(const char *direction)
{
	if (strcmp(direction, "exported") == 0)
		return "выгрузка";
	if (strcmp(direction, "imported") == 0)
		return "загрузка";
	return "отказ от носителя";
}

/*
 * Is there a row of direction and digest in the peer's table (superseded:
 * this gateway's, an export that replaced digest)?
 */
static int
report_handovers_has(
    struct report *r, const char *direction, const char *digest, int superseded)
{
	sqlite3_stmt *st;
	int found;

	st = db_prepare(superseded ? r->db : r->peer,
	    superseded ? "SELECT 1 FROM handovers WHERE direction = ? AND"
	                 " replaces = ?"
	               : "SELECT 1 FROM handovers WHERE direction = ? AND"
	                 " digest = ?");
	sqlite3_bind_text(st, 1, direction, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	db_finalize(st);
	return found;
}

/*
 * What the peer recorded of one hand-over of this gateway, in words;
 * counts an export never imported (older than REPORT_MAX_AGE) and an
 * import whose export the peer never recorded.
 */
static const char *
report_handovers_peer(
    struct report *r, const char *direction, const char *digest, int64_t at)
{
	if (strcmp(direction, "exported") == 0) {
		if (report_handovers_has(r, "imported", digest, 0))
			return "загружен";
		if (report_handovers_has(r, "exported", digest, 1))
			return "заменён новой описью";
		if (report_handovers_has(r, "refused", digest, 0))
			return "ОТКАЗ";
		if (r->now - at >= REPORT_MAX_AGE) {
			r->ho_lost++;
			return "НЕ ЗАГРУЖЕН";
		}
		return "в пути";
	}
	if (strcmp(direction, "imported") == 0) {
		if (report_handovers_has(r, "exported", digest, 0))
			return "выгрузка записана";
		r->ho_unrec++;
		return "ВЫГРУЗКА НЕ ЗАПИСАНА";
	}
	return "—";
}

/* The media handed over in the period, and the peer's record of each. */
void
report_handovers(FILE *f, struct report *r)
{
	sqlite3_stmt *st;
	int peer, n = 0;

	fputs("<h2 id=\"handovers\">Передачи на носителях</h2>\n", f);
	if (!db_exists(r->db, REPORT_HAS_TABLE, "handovers")) {
		fputs("<p>База не ведёт учёт передач (схема старее версии "
		      "3).</p>\n",
		    f);
		return;
	}
	peer = r->peer != NULL &&
	       db_exists(r->peer, REPORT_HAS_TABLE, "handovers");
	fputs("<p>Выгрузки и загрузки носителей с записью в журнал "
	      "(<code>posgw media export|import --config</code>) за период; "
	      "опись — дайджест Стрибог-256 подписанной описи носителя.</p>\n"
	      "<table>\n<tr><th>Время (UTC)</th><th>Действие</th>"
	      "<th>Оператор</th><th>Носитель</th><th>Пакетов</th>"
	      "<th>Опись</th>",
	    f);
	if (peer)
		fputs("<th>У партнёра</th>", f);
	fputs("</tr>\n", f);
	/* every row is matched (losses are checked whole), those of the
	 * period are listed */
	st = report_stmt(r, r->db,
	    "SELECT at, direction, operator, medium, packages, digest,"
	    " at BETWEEN :from AND :to FROM handovers ORDER BY at, id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *dir = report_col(st, 1), *seen = NULL;

		if (peer)
			seen = report_handovers_peer(r, dir, report_col(st, 5),
			    sqlite3_column_int64(st, 0));
		if (!sqlite3_column_int(st, 6))
			continue;
		fputs("<tr><td>", f);
		report_html_time(f, sqlite3_column_int64(st, 0));
		fputs("</td><td>", f);
		report_term(f, report_handovers_ru(dir), dir);
		fputs("</td><td>", f);
		report_html_esc(f, report_col(st, 2));
		fputs("</td><td>", f);
		report_html_esc(f, report_col(st, 3));
		fprintf(f, "</td><td class=\"n\">%" PRId64 "</td><td><code>",
		    (int64_t)sqlite3_column_int64(st, 4));
		report_html_esc(f, report_col(st, 5));
		fputs("</code></td>", f);
		if (seen != NULL) {
			fputs("<td>", f);
			report_html_esc(f, seen);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
		if (strcmp(dir, "refused") == 0)
			r->ho_refused++;
		n++;
	}
	db_finalize(st);
	if (n == 0)
		fprintf(f,
		    "<tr><td colspan=\"%d\">передач за период нет</td></tr>\n",
		    peer ? 7 : 6);
	fprintf(f,
	    "</table>\n<p>Передач: <span id=\"ho-n\">%d</span>, отказов: "
	    "<span id=\"ho-refused\">%" PRId64 "</span>",
	    n, r->ho_refused);
	if (peer)
		fprintf(f,
		    ", не загружено более суток: <span id=\"ho-lost\">%" PRId64
		    "</span>, загружено без записанной выгрузки: <span "
		    "id=\"ho-unrec\">%" PRId64 "</span>",
		    r->ho_lost, r->ho_unrec);
	fputs(".</p>\n", f);
}
