/*
 * report-heatmap.c: the heat maps of posgw journal report on the core's
 * database: appeals by ПОС category (rows) and territory (ОКТМО, columns),
 * new in the period, overdue as of its end and confirmed repeated ones; each
 * cell coloured white to red by its count, the count written in it, and a
 * plain table of the same numbers below.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "edms.h"
#include "report.h"
#include "xmalloc.h"

/* One cell with a count: a category and a territory. */
struct heat_cell {
	char *cat, *name, *oktmo;
	int64_t n;
};

/* One map: its cells, its distinct rows and columns (sorted). */
struct heat_map {
	struct heat_cell *c;
	size_t nc;
	char **cats, **names, **cols;
	size_t ncats, ncols;
	int64_t max, total;
};

static void report_heatmap_load(
    struct report *r, struct heat_map *m, const char *where, const char *today);
static size_t report_heatmap_index(char ***v, size_t *n, const char *s);
static int64_t report_heatmap_get(
    const struct heat_map *m, const char *cat, const char *oktmo);
static void report_heatmap_colour(
    char *buf, size_t len, int64_t n, int64_t max);
static void report_heatmap_table(FILE *f, const struct heat_map *m,
    const char *id, const char *title, const char *what);
static void report_heatmap_free(struct heat_map *m);

/* The position of s in the sorted list v, inserted when missing. */
static size_t
report_heatmap_index(char ***v, size_t *n, const char *s)
{
	size_t i;
	int c = 1;

	for (i = 0; i < *n && (c = strcmp((*v)[i], s)) < 0; i++)
		;
	if (i < *n && c == 0)
		return i;
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	memmove(*v + i + 1, *v + i, (*n - i) * sizeof **v);
	(*v)[i] = xstrdup(s);
	(*n)++;
	return i;
}

/*
 * Count the appeals matching where (over the period's :dfrom/:dto, and
 * :today) by category and territory into m.
 */
static void
report_heatmap_load(
    struct report *r, struct heat_map *m, const char *where, const char *today)
{
	sqlite3_stmt *st;
	struct heat_cell *c;
	char *sql;
	size_t i;
	int k;

	memset(m, 0, sizeof *m);
	xasprintf(&sql,
	    "SELECT COALESCE(category, '-'), MAX(COALESCE(category_name, '')),"
	    " COALESCE(NULLIF(oktmo, ''), '-'), COUNT(*) FROM core_appeals"
	    " WHERE %s GROUP BY 1, 3 ORDER BY 1, 3",
	    where);
	st = report_stmt(r, r->db, sql);
	free(sql);
	if ((k = sqlite3_bind_parameter_index(st, ":today")) > 0)
		sqlite3_bind_text(st, k, today, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		m->c = xreallocarray(m->c, m->nc + 1, sizeof *m->c);
		c = &m->c[m->nc++];
		c->cat = xstrdup(report_col(st, 0));
		c->name = xstrdup(report_col(st, 1));
		c->oktmo = xstrdup(report_col(st, 2));
		c->n = sqlite3_column_int64(st, 3);
		if (c->n > m->max)
			m->max = c->n;
		m->total += c->n;
		report_heatmap_index(&m->cats, &m->ncats, c->cat);
		report_heatmap_index(&m->cols, &m->ncols, c->oktmo);
	}
	db_finalize(st);
	/* the categories' names, in the order of the sorted codes */
	m->names = xcalloc(m->ncats, sizeof *m->names);
	for (i = 0; i < m->nc; i++) {
		size_t j;

		for (j = 0; j < m->ncats; j++)
			if (strcmp(m->cats[j], m->c[i].cat) == 0 &&
			    m->names[j] == NULL)
				m->names[j] = m->c[i].name;
	}
}

/* The count of a cell, 0 when no appeal. */
static int64_t
report_heatmap_get(const struct heat_map *m, const char *cat, const char *oktmo)
{
	size_t i;

	for (i = 0; i < m->nc; i++)
		if (strcmp(m->c[i].cat, cat) == 0 &&
		    strcmp(m->c[i].oktmo, oktmo) == 0)
			return m->c[i].n;
	return 0;
}

/* A cell's background: white for 0, to red (#ff3737) for the maximum. */
static void
report_heatmap_colour(char *buf, size_t len, int64_t n, int64_t max)
{
	int v = 255;

	if (n > 0 && max > 0)
		v = 255 - (int)((200 * n + max / 2) / max);
	snprintf(buf, len, "#ff%02x%02x", (unsigned)v, (unsigned)v);
}

/*
 * One map as a table (id), the count in each cell and in its data-count
 * attribute, then the same numbers as a plain list (id-list).
 */
static void
report_heatmap_table(FILE *f, const struct heat_map *m, const char *id,
    const char *title, const char *what)
{
	char colour[16];
	size_t i, j;
	int64_t n;

	fprintf(f, "<h3 id=\"%s-h\">", id);
	report_html_esc(f, title);
	fputs("</h3>\n<p>", f);
	report_html_esc(f, what);
	fprintf(f, " Всего: <span id=\"%s-n\">%" PRId64 "</span>.</p>\n", id,
	    m->total);
	if (m->nc == 0) {
		fprintf(f, "<p id=\"%s\">Таких обращений нет.</p>\n", id);
		return;
	}
	fprintf(f,
	    "<table class=\"heat\" id=\"%s\" data-max=\"%" PRId64 "\">\n"
	    "<tr><th>Рубрика ПОС / ОКТМО</th>",
	    id, m->max);
	for (j = 0; j < m->ncols; j++) {
		fputs("<th>", f);
		report_html_esc(f, m->cols[j]);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (i = 0; i < m->ncats; i++) {
		fputs("<tr><th>", f);
		report_html_esc(f, m->cats[i]);
		if (m->names[i] != NULL && *m->names[i] != '\0') {
			fputc(' ', f);
			report_html_esc(f, m->names[i]);
		}
		fputs("</th>", f);
		for (j = 0; j < m->ncols; j++) {
			n = report_heatmap_get(m, m->cats[i], m->cols[j]);
			report_heatmap_colour(colour, sizeof colour, n, m->max);
			fputs("<td class=\"n\" data-category=\"", f);
			report_html_esc(f, m->cats[i]);
			fputs("\" data-oktmo=\"", f);
			report_html_esc(f, m->cols[j]);
			fprintf(f,
			    "\" data-count=\"%" PRId64
			    "\" style=\"background:%s\">%" PRId64 "</td>",
			    n, colour, n);
		}
		fputs("</tr>\n", f);
	}
	fprintf(f,
	    "</table>\n<p class=\"muted\">Цвет ячейки: белый — 0, красный — "
	    "наибольшее число (%" PRId64 ").</p>\n",
	    m->max);
	fprintf(f,
	    "<table id=\"%s-list\">\n<tr><th>Рубрика</th><th>Название</th>"
	    "<th>ОКТМО</th><th>Обращений</th></tr>\n",
	    id);
	for (i = 0; i < m->nc; i++) {
		fputs("<tr><td>", f);
		report_html_esc(f, m->c[i].cat);
		fputs("</td><td>", f);
		report_html_esc(f, m->c[i].name);
		fputs("</td><td>", f);
		report_html_esc(f, m->c[i].oktmo);
		fprintf(f, "</td><td class=\"n\">%" PRId64 "</td></tr>\n",
		    m->c[i].n);
	}
	fputs("</table>\n", f);
}

/* Free a map. */
static void
report_heatmap_free(struct heat_map *m)
{
	size_t i;

	for (i = 0; i < m->nc; i++) {
		free(m->c[i].cat);
		free(m->c[i].name);
		free(m->c[i].oktmo);
	}
	for (i = 0; i < m->ncats; i++)
		free(m->cats[i]);
	for (i = 0; i < m->ncols; i++)
		free(m->cols[i]);
	free(m->c);
	free(m->cats);
	free(m->names);
	free(m->cols);
}

/* The three heat maps: new, overdue as of the period's end, repeated. */
void
report_heatmap(FILE *f, struct report *r)
{
	struct heat_map m;
	char today[11], *where;

	fputs("<h2 id=\"heatmap\">Рубрики и территории</h2>\n", f);
	if (!db_exists(r->db, REPORT_HAS_TABLE, "core_appeals")) {
		fputs("<p>Рубрики и территории обращений ведёт ядро "
		      "(внутренний контур); в этой базе их нет. Сформируйте "
		      "отчёт по базе ядра.</p>\n",
		    f);
		return;
	}
	if (!db_exists(r->db,
	        "SELECT 1 FROM pragma_table_info('core_appeals') WHERE name ="
	        " ?",
	        "oktmo")) {
		fputs("<p>Таблицы ядра старой версии (без ОКТМО): запустите "
		      "posgw-core один раз, он их обновит.</p>\n",
		    f);
		return;
	}
	if (r->dto[0] != '\0')
		snprintf(today, sizeof today, "%s", r->dto);
	else
		edms_today_str(today);
	fputs("<p>Строки — рубрики ПОС (код и название), столбцы — территории "
	      "(код ОКТМО места обращения, иначе организации; «-» — ОКТМО "
	      "нет). Число в ячейке — обращений; чем больше, тем краснее. "
	      "Под каждой картой те же числа списком.</p>\n",
	    f);
	report_heatmap_load(
	    r, &m, "substr(created, 1, 10) BETWEEN :dfrom AND :dto", today);
	report_heatmap_table(f, &m, "heat-new", "Новые обращения",
	    "Поступили за период (дата создания в ПОС, UTC).");
	report_heatmap_free(&m);

	/* the same definition as posgw edms overdue (edms.c) */
	xasprintf(&where, "%s", edms_overdue_sql);
	report_heatmap_load(r, &m, where, today);
	free(where);
	report_heatmap_table(f, &m, "heat-overdue", "Просроченные обращения",
	    r->dto[0] != '\0'
	        ? "Просрочены на последний день периода (то же определение, "
	          "что в разделе «Просроченные обращения»; статус — "
	          "текущий)."
	        : "Просрочены на сегодня (то же определение, что в разделе "
	          "«Просроченные обращения»).");
	report_heatmap_free(&m);

	report_heatmap_load(r, &m,
	    "repeated = 'confirmed' AND substr(created, 1, 10) BETWEEN :dfrom"
	    " AND :dto",
	    today);
	report_heatmap_table(f, &m, "heat-repeated", "Повторные обращения",
	    "Поступили за период и признаны повторными (59-ФЗ, ст. 11).");
	report_heatmap_free(&m);
}
