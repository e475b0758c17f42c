/*
 * report-appeals.c: the appeals' sections of posgw journal report: appeals
 * by status and the overdue ones.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "edms.h"
#include "error.h"
#include "journal.h"
#include "log.h"
#include "report.h"
#include "sig.h"
#include "xfer.h"
#include "xmalloc.h"

static const char *report_appeals_event_state(const char *body);

/* An appeal's state from the type of its latest event. */
static const char *
report_appeals_event_state(const char *body)
{
	static const struct {
		const char *type, *state;
	} map[] = {
	    {"type=\"registered\"", "registered"},
	    {"type=\"take-to-work\"", "in_work"},
	    {"type=\"set-executor\"", "in_work"},
	    {"type=\"postpone\"", "postponed"},
	    {"type=\"forward\"", "forwarded"},
	    {"type=\"decline\"", "declined"},
	    {"type=\"answer\"", "answered"},
	};

	for (size_t i = 0; body && i < sizeof map / sizeof map[0]; i++)
		if (strstr(body, map[i].type) != NULL)
			return map[i].state;
	return "new";
}

/* The appeals received in the period by status. */
void
report_appeals(FILE *f, struct report *r)
{
	struct report_bars bs = {0};
	sqlite3_stmt *st;
	size_t i;

	fputs("<h2 id=\"appeals\">Обращения по статусам</h2>\n", f);
	if (db_exists(r->db, REPORT_HAS_TABLE, "core_appeals")) {
		fputs("<p>Обращения, поступившие за период, по текущему "
		      "статусу (учёт обращений ядра).</p>\n",
		    f);
		st = report_stmt(r, r->db,
		    "SELECT state, COUNT(*) FROM core_appeals WHERE"
		    " substr(created, 1, 10) BETWEEN :dfrom AND :dto"
		    " GROUP BY state ORDER BY 2 DESC, 1");
		while (sqlite3_step(st) == SQLITE_ROW)
			report_html_bars_add(&bs, report_col(st, 0), NULL,
			    sqlite3_column_int64(st, 1), 0);
		db_finalize(st);
	} else {
		fputs("<p>Обращения, переданные за период, по последнему "
		      "событию, полученному от другой стороны.</p>\n",
		    f);
		st = report_stmt(r, r->db,
		    "SELECT (SELECT e.body FROM documents e WHERE e.kind ="
		    " 'event' AND e.pos_id = a.pos_id AND e.direction !="
		    " a.direction ORDER BY e.n DESC, e.id DESC LIMIT 1)"
		    " FROM documents a WHERE a.kind = 'appeal' AND a.created"
		    " BETWEEN :from AND :to");
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *s = report_appeals_event_state(
			    (const char *)sqlite3_column_text(st, 0));

			for (i = 0; i < bs.n; i++)
				if (strcmp(bs.b[i].label, s) == 0)
					break;
			if (i == bs.n)
				report_html_bars_add(&bs, s, NULL, 0, 0);
			bs.b[i].v[0]++;
		}
		db_finalize(st);
	}
	if (bs.n == 0) {
		fputs("<p>Обращений за период нет.</p>\n", f);
		return;
	}
	fputs("<table>\n<tr><th>Статус</th><th>Обращений</th></tr>\n", f);
	for (i = 0; i < bs.n; i++) {
		fputs("<tr><td>", f);
		report_term(f, report_state_ru(bs.b[i].label), bs.b[i].label);
		fprintf(f, "</td><td class=\"n\">%" PRId64 "</td></tr>\n",
		    bs.b[i].v[0]);
		free(bs.b[i].title);
		bs.b[i].title = bs.b[i].label;
		bs.b[i].label = xstrdup(report_state_ru(bs.b[i].title));
	}
	fputs("</table>\n", f);
	report_html_chart(f, &bs, 1, NULL, "Обращения по статусам");
	report_html_bars_free(&bs);
}

/* The open appeals past their due date, as of now. */
void
report_appeals_overdue(FILE *f, struct report *r)
{
	sqlite3_stmt *st;
	char today[11], *sql;

	fputs("<h2 id=\"overdue\">Просроченные обращения</h2>\n", f);
	if (!db_exists(r->db, REPORT_HAS_TABLE, "core_appeals")) {
		fputs(
		    "<p>Сроки рассмотрения ведёт ядро (внутренний контур); "
		    "в этой базе их нет. Сформируйте отчёт по базе ядра.</p>\n",
		    f);
		return;
	}
	fputs("<p>Срок рассмотрения истёк (раньше сегодняшней даты), "
	      "обращение не закрыто; или обращение переадресовано позже семи "
	      "дней после регистрации (59-ФЗ, ст. 8), тогда срок — срок "
	      "переадресации.</p>\n<table>\n<tr><th>Номер "
	      "ПОС</th><th>Вид</th><th>Поступило</th><th>Срок</th>"
	      "<th>Просрочено</th><th>Статус</th></tr>\n",
	    f);
	/* the same definition as posgw edms overdue (edms.c) */
	edms_today_str(today);
	xasprintf(&sql,
	    "SELECT pos_id, kind, created, CASE WHEN state = 'forwarded' THEN"
	    " forward_due ELSE due END, state, CAST(julianday(:today) -"
	    " julianday(CASE WHEN state = 'forwarded' THEN forward_due ELSE"
	    " due END) AS INTEGER) FROM core_appeals WHERE %s ORDER BY due,"
	    " pos_id",
	    db_exists(r->db,
	        "SELECT 1 FROM pragma_table_info('core_appeals') WHERE name ="
	        " ?",
	        "forward_due")
	        ? edms_overdue_sql
	        : "(due IS NOT NULL AND due != '' AND due < :today AND state"
	          " NOT IN ('answered', 'declined', 'forwarded'))");
	st = db_prepare(r->db, sql);
	free(sql);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":today"), today,
	    -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < 4; i++) {
			fputs(i == 0 ? "<tr><td>" : "</td><td>", f);
			report_html_esc(f, report_col(st, i));
		}
		fprintf(f, "</td><td class=\"n\">%" PRId64 " сут</td><td>",
		    (int64_t)sqlite3_column_int64(st, 5));
		report_term(
		    f, report_state_ru(report_col(st, 4)), report_col(st, 4));
		fputs("</td></tr>\n", f);
		r->overdue++;
	}
	db_finalize(st);
	if (r->overdue == 0)
		fputs("<tr><td colspan=\"6\">просроченных обращений нет</td>"
		      "</tr>\n",
		    f);
	fprintf(f,
	    "</table>\n<p>Всего просрочено: <span id=\"overdue-n\">%" PRId64
	    "</span>.</p>\n",
	    r->overdue);
}
