/* cmd-report.c: posgw journal report, a self-contained HTML audit report. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "journal.h"
#include "log.h"
#include "cli.h"
#include "package.h"
#include "xfer.h"
#include "xmalloc.h"

static const char report_usage[] =
    "usage: posgw journal report DB [--peer PEER.db] --out REPORT.html\n"
    "\n"
    "Write one self-contained HTML file (inline CSS and SVG charts, no\n"
    "scripts, no external files) for auditors, in Russian: packages in and\n"
    "out per day, rejects by code, delivery latency, gaps and packages in\n"
    "flight, appeals by status, overdue appeals, and whether the journal's\n"
    "hash chain and signed checkpoints verify. --peer adds the counts of a\n"
    "reconciliation with the other gateway's database and checks its copies\n"
    "of this gateway's checkpoints. Databases are opened read-only.\n"
    "Exit 0 when the report is written (even if verification failed: the\n"
    "report shows it), 1 on failure, 2 on a usage error.\n";

/* Packages older than this that the other side never saw count as lost. */
#define REPORT_MAX_AGE (24 * 3600)

/* One bar of a chart: a label and up to two values. */
struct report_bar {
	char *label;
	double v[2];
};

/* A growing list of bars. */
struct report_bars {
	struct report_bar *b;
	size_t n;
};

/* Write a string with the HTML special characters escaped. */
static void
cmd_report_esc(FILE *f, const char *s)
{
	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' &&
			    *s != '\t')
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

/* Text column i of a row, never NULL. */
static const char *
cmd_report_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* Append a bar to a list. */
static void
cmd_report_bar_add(
    struct report_bars *bs, const char *label, double v0, double v1)
{
	bs->b = xreallocarray(bs->b, bs->n + 1, sizeof *bs->b);
	bs->b[bs->n].label = xstrdup(label);
	bs->b[bs->n].v[0] = v0;
	bs->b[bs->n].v[1] = v1;
	bs->n++;
}

/* Free a list of bars. */
static void
cmd_report_bars_free(struct report_bars *bs)
{
	for (size_t i = 0; i < bs->n; i++)
		free(bs->b[i].label);
	free(bs->b);
	bs->b = NULL;
	bs->n = 0;
}

/*
 * Draw a bar chart as inline SVG: nser series (1 or 2) per label, with a
 * value axis, the labels under the bars and a legend when names are given.
 */
static void
cmd_report_svg_bars(FILE *f, const struct report_bars *bs, int nser,
    const char *const *names, const char *title)
{
	static const char *const colors[] = {"#2b6cb0", "#dd8a2b"};
	const int w = 860, h = 280, left = 50, right = 10, top = 30,
	          bottom = 70;
	double max = 0, slot, bw, y;
	size_t i;
	int s, k;

	for (i = 0; i < bs->n; i++)
		for (s = 0; s < nser; s++)
			if (bs->b[i].v[s] > max)
				max = bs->b[i].v[s];
	if (max <= 0)
		max = 1;
	fprintf(f,
	    "<svg width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n<title>",
	    w, h, w, h);
	cmd_report_esc(f, title);
	fprintf(f,
	    "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\""
	    " fill=\"#ffffff\"/>\n",
	    w, h);
	for (k = 0; k <= 4; k++) {
		y = top + (h - top - bottom) * (1 - k / 4.0);
		fprintf(f,
		    "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		    "stroke=\"#dddddd\"/>\n<text x=\"%d\" y=\"%.1f\" "
		    "font-size=\"11\" text-anchor=\"end\">%.4g</text>\n",
		    left, y, w - right, y, left - 4, y + 4, max * k / 4.0);
	}
	slot = bs->n ? (double)(w - left - right) / (double)bs->n : 0;
	bw = slot * 0.8 / nser;
	for (i = 0; i < bs->n; i++) {
		double x0 = left + slot * (double)i + slot * 0.1;

		for (s = 0; s < nser; s++) {
			double bh = (h - top - bottom) * bs->b[i].v[s] / max;

			fprintf(f,
			    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			    "height=\"%.1f\" fill=\"%s\"><title>",
			    x0 + bw * s, h - bottom - bh, bw, bh, colors[s]);
			cmd_report_esc(f, bs->b[i].label);
			fprintf(f, ": %.6g</title></rect>\n", bs->b[i].v[s]);
		}
		if (bs->n <= 40 || i % (bs->n / 40 + 1) == 0) {
			fprintf(f,
			    "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
			    "text-anchor=\"end\" transform=\"rotate(-40 "
			    "%.1f %d)\">",
			    x0 + slot * 0.4, h - bottom + 14, x0 + slot * 0.4,
			    h - bottom + 14);
			cmd_report_esc(f, bs->b[i].label);
			fputs("</text>\n", f);
		}
	}
	fprintf(f,
	    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	    "stroke=\"#333333\"/>\n",
	    left, h - bottom, w - right, h - bottom);
	for (s = 0; names != NULL && s < nser; s++) {
		fprintf(f,
		    "<rect x=\"%d\" y=\"8\" width=\"12\" height=\"12\" "
		    "fill=\"%s\"/><text x=\"%d\" y=\"18\" font-size=\"12\">",
		    left + 10 + s * 160, colors[s], left + 26 + s * 160);
		cmd_report_esc(f, names[s]);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

/* Does a table exist in the database? */
static int
cmd_report_has_table(struct db *db, const char *name)
{
	sqlite3_stmt *st = db_prepare(db,
	    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
	int yes;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

/* An appeal state's name for the auditors. */
static const char *
cmd_report_state_ru(const char *state)
{
	static const struct {
		const char *state, *ru;
	} names[] = {
	    {"new", "новое (не зарегистрировано)"},
	    {"registered", "зарегистрировано"},
	    {"in_work", "в работе"},
	    {"postponed", "срок продлён"},
	    {"forwarded", "перенаправлено"},
	    {"declined", "отказано"},
	    {"answered", "дан ответ"},
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(names[i].state, state) == 0)
			return names[i].ru;
	return state;
}

/* Write a time as UTC text. */
static void
cmd_report_time(FILE *f, int64_t t)
{
	char buf[32];

	pkg_time_format((time_t)t, buf, sizeof buf);
	cmd_report_esc(f, buf);
}

/* The start of the document with the inline style sheet. */
static void
cmd_report_head(FILE *f, const char *own, const char *path)
{
	fputs("<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n"
	      "<meta charset=\"utf-8\"/>\n<title>Отчёт по журналу обмена ",
	    f);
	cmd_report_esc(f, own);
	fputs("</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:2em;color:#222;"
	      "max-width:960px}\n"
	      "h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;"
	      "border-bottom:1px solid #ccc}\n"
	      "table{border-collapse:collapse;margin:.5em 0}\n"
	      "td,th{border:1px solid #bbb;padding:.2em .6em;"
	      "text-align:left}\n"
	      "th{background:#eee}td.n{text-align:right}\n"
	      ".ok{background:#e6f4ea;border:2px solid #2e7d32;color:#1b5e20;"
	      "padding:.8em;font-weight:bold;font-size:1.2em}\n"
	      ".bad{background:#fdecea;border:3px solid #c62828;color:#b71c1c;"
	      "padding:.8em;font-weight:bold;font-size:1.2em}\n"
	      "pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap}\n"
	      ".muted{color:#666}\n"
	      "@media print{body{margin:0}}\n"
	      "</style>\n</head>\n<body>\n<h1>Отчёт по журналу обмена шлюза ",
	    f);
	cmd_report_esc(f, own);
	fputs("</h1>\n<p>База данных: <code>", f);
	cmd_report_esc(f, path);
	fputs("</code><br/>Сформирован: ", f);
	cmd_report_time(f, (int64_t)time(NULL));
	fputs(" (UTC)</p>\n", f);
}

/* The verification of the hash chain and the signed checkpoints. */
static void
cmd_report_verify(FILE *f, struct db *db)
{
	struct error err = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int rc;

	fputs("<h2 id=\"verify\">Проверка цепочки журнала и контрольных "
	      "точек</h2>\n",
	    f);
	if ((m = open_memstream(&buf, &len)) == NULL)
		fatal("journal report: open_memstream");
	rc = journal_verify(db, NULL, m, &err);
	fclose(m);
	if (rc == 0)
		fputs("<p class=\"ok\" id=\"verify-result\">ПРОВЕРКА ПРОЙДЕНА: "
		      "цепочка хешей журнала цела, подписанные контрольные "
		      "точки совпадают с журналом.</p>\n",
		    f);
	else {
		fputs("<p class=\"bad\" id=\"verify-result\">ПРОВЕРКА НЕ "
		      "ПРОЙДЕНА: ",
		    f);
		cmd_report_esc(f, err.text);
		fputs("</p>\n", f);
	}
	fputs("<p>Вывод проверки (<code>posgw journal verify</code>):</p>\n"
	      "<pre>",
	    f);
	cmd_report_esc(f, buf);
	fputs("</pre>\n<p class=\"muted\">Подписи контрольных точек "
	      "проверены по сертификату, хранящемуся в самой базе; для "
	      "независимой проверки выполните <code>posgw journal verify DB "
	      "--trust CERT</code>.</p>\n",
	    f);
	free(buf);
}

/* Totals and the packages in and out per day. */
static void
cmd_report_days(FILE *f, struct db *db)
{
	static const char *const names[] = {"отправлено", "получено"};
	struct report_bars bs = {0};
	sqlite3_stmt *st;

	fprintf(f,
	    "<h2 id=\"totals\">Сводка</h2>\n<table>\n"
	    "<tr><th>Показатель</th><th>Значение</th></tr>\n"
	    "<tr><td>Отправлено пакетов</td><td class=\"n\" "
	    "id=\"pkg-out\">%" PRId64 "</td></tr>\n"
	    "<tr><td>Получено пакетов</td><td class=\"n\" "
	    "id=\"pkg-in\">%" PRId64 "</td></tr>\n"
	    "<tr><td>Отклонено входящих пакетов</td><td class=\"n\" "
	    "id=\"pkg-rejected\">%" PRId64 "</td></tr>\n"
	    "<tr><td>Записей в журнале</td><td class=\"n\" "
	    "id=\"journal-entries\">%" PRId64 "</td></tr>\n"
	    "<tr><td>Подписанных контрольных точек</td><td class=\"n\" "
	    "id=\"checkpoints\">%" PRId64 "</td></tr>\n</table>\n",
	    db_int(
	        db, "SELECT COUNT(*) FROM packages WHERE direction = 'out'", 0),
	    db_int(
	        db, "SELECT COUNT(*) FROM packages WHERE direction = 'in'", 0),
	    db_int(db,
	        "SELECT COUNT(*) FROM packages WHERE direction = 'in'"
	        " AND state IN ('rejected', 'conflict')",
	        0),
	    db_int(db, "SELECT COUNT(*) FROM journal", 0),
	    db_int(db, "SELECT COUNT(*) FROM checkpoints", 0));

	fputs("<h2 id=\"days\">Пакеты по дням</h2>\n", f);
	st = db_prepare(db,
	    "SELECT date(created, 'unixepoch') AS d,"
	    " SUM(direction = 'out'), SUM(direction = 'in') FROM packages"
	    " GROUP BY d ORDER BY d");
	while (sqlite3_step(st) == SQLITE_ROW)
		cmd_report_bar_add(&bs, cmd_report_col(st, 0),
		    (double)sqlite3_column_int64(st, 1),
		    (double)sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	if (bs.n == 0) {
		fputs("<p>Пакетов нет.</p>\n", f);
		return;
	}
	cmd_report_svg_bars(f, &bs, 2, names, "Пакеты по дням");
	fputs("<table>\n<tr><th>Дата (UTC)</th><th>Отправлено</th>"
	      "<th>Получено</th></tr>\n",
	    f);
	for (size_t i = 0; i < bs.n; i++) {
		fputs("<tr><td>", f);
		cmd_report_esc(f, bs.b[i].label);
		fprintf(f,
		    "</td><td class=\"n\">%.0f</td><td class=\"n\">%.0f</td>"
		    "</tr>\n",
		    bs.b[i].v[0], bs.b[i].v[1]);
	}
	fputs("</table>\n", f);
	cmd_report_bars_free(&bs);
}

/* The rejected incoming packages by code. */
static void
cmd_report_rejects(FILE *f, struct db *db)
{
	struct report_bars bs = {0};
	sqlite3_stmt *st;

	fputs("<h2 id=\"rejects\">Отклонённые пакеты по кодам</h2>\n", f);
	st = db_prepare(db,
	    "SELECT COALESCE(code, state), COUNT(*) FROM packages"
	    " WHERE state IN ('rejected', 'conflict') GROUP BY 1"
	    " ORDER BY 2 DESC, 1");
	while (sqlite3_step(st) == SQLITE_ROW)
		cmd_report_bar_add(&bs, cmd_report_col(st, 0),
		    (double)sqlite3_column_int64(st, 1), 0);
	sqlite3_finalize(st);
	if (bs.n == 0) {
		fputs("<p>Отклонённых пакетов нет.</p>\n", f);
		return;
	}
	cmd_report_svg_bars(f, &bs, 1, NULL, "Отклонённые пакеты по кодам");
	fputs("<table>\n<tr><th>Код</th><th>Пакетов</th></tr>\n", f);
	for (size_t i = 0; i < bs.n; i++) {
		fputs("<tr><td>", f);
		cmd_report_esc(f, bs.b[i].label);
		fprintf(
		    f, "</td><td class=\"n\">%.0f</td></tr>\n", bs.b[i].v[0]);
	}
	fputs("</table>\n", f);
	st = db_prepare(db,
	    "SELECT name, code, reason, created FROM packages WHERE"
	    " state IN ('rejected', 'conflict') ORDER BY id DESC LIMIT 50");
	fputs("<p>Последние отклонённые пакеты (до 50):</p>\n<table>\n"
	      "<tr><th>Пакет</th><th>Код</th><th>Причина</th>"
	      "<th>Время (UTC)</th></tr>\n",
	    f);
	while (sqlite3_step(st) == SQLITE_ROW) {
		fputs("<tr><td>", f);
		cmd_report_esc(f, cmd_report_col(st, 0));
		fputs("</td><td>", f);
		cmd_report_esc(f, cmd_report_col(st, 1));
		fputs("</td><td>", f);
		cmd_report_esc(f, cmd_report_col(st, 2));
		fputs("</td><td>", f);
		cmd_report_time(f, sqlite3_column_int64(st, 3));
		fputs("</td></tr>\n", f);
	}
	sqlite3_finalize(st);
	fputs("</table>\n", f);
	cmd_report_bars_free(&bs);
}

/* Compare two latencies for qsort. */
static int
cmd_report_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile p of n sorted values. */
static int64_t
cmd_report_pct(const int64_t *v, size_t n, int p)
{
	size_t k = (n * (size_t)p + 99) / 100;

	return v[k == 0 ? 0 : k - 1];
}

/* The latency from a package's creation to the peer's receipt. */
static void
cmd_report_latency(FILE *f, struct db *db)
{
	struct report_bars bs = {0};
	sqlite3_stmt *st;
	int64_t *v = NULL, width, max;
	size_t n = 0, i, nbins;
	char label[64];

	fputs("<h2 id=\"latency\">Задержка доставки</h2>\n<p>Время от "
	      "создания исходящего пакета до получения квитанции от "
	      "получателя, в секундах.</p>\n",
	    f);
	st = db_prepare(db,
	    "SELECT MAX(receipted - created, 0) FROM packages WHERE"
	    " direction = 'out' AND receipted IS NOT NULL");
	while (sqlite3_step(st) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (n == 0) {
		fputs("<p>Квитированных пакетов нет.</p>\n", f);
		return;
	}
	qsort(v, n, sizeof *v, cmd_report_cmp);
	max = v[n - 1];
	nbins = max + 1 < 12 ? (size_t)max + 1 : 12;
	width = (max + (int64_t)nbins) / (int64_t)nbins;
	for (i = 0; i < nbins; i++) {
		if (width == 1)
			snprintf(
			    label, sizeof label, "%" PRId64 " с", (int64_t)i);
		else
			snprintf(label, sizeof label,
			    "%" PRId64 "–%" PRId64 " с", (int64_t)i * width,
			    ((int64_t)i + 1) * width - 1);
		cmd_report_bar_add(&bs, label, 0, 0);
	}
	for (i = 0; i < n; i++) {
		size_t b = (size_t)(v[i] / width);

		bs.b[b < nbins ? b : nbins - 1].v[0]++;
	}
	fprintf(f,
	    "<p id=\"latency-pct\">Квитировано пакетов: %zu. Медиана (p50): "
	    "<b>%" PRId64 " с</b>, p95: <b>%" PRId64 " с</b>, p99: <b>%" PRId64
	    " с</b>, максимум: %" PRId64 " с.</p>\n",
	    n, cmd_report_pct(v, n, 50), cmd_report_pct(v, n, 95),
	    cmd_report_pct(v, n, 99), max);
	cmd_report_svg_bars(f, &bs, 1, NULL, "Распределение задержки доставки");
	cmd_report_bars_free(&bs);
	free(v);
}

/* One table row per run of missing seqs (ingest_gaps callback). */
static void
cmd_report_gap_row(int64_t from, int64_t to, void *arg)
{
	fprintf((FILE *)arg,
	    "<tr><td>%" PRId64 "–%" PRId64 "</td><td class=\"n\">%" PRId64
	    "</td></tr>\n",
	    from, to, to - from + 1);
}

/* Gaps in the peer's sequence and this side's packages in flight. */
static void
cmd_report_gaps(FILE *f, struct db *db)
{
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);
	int ngaps = 0, nflight = 0;
	char *peer = db_meta_get(db, "peer_id");

	fputs("<h2 id=\"gaps\">Пропуски и пакеты в пути</h2>\n", f);
	fputs("<p>Пропуски в нумерации пакетов, полученных от ", f);
	cmd_report_esc(f, peer ? peer : "партнёра");
	fputs(":</p>\n<table>\n<tr><th>Номера</th><th>Пакетов</th></tr>\n", f);
	ngaps = ingest_gaps(db, peer ? peer : "", cmd_report_gap_row, f) > 0;
	if (ngaps == 0)
		fputs("<tr><td colspan=\"2\">пропусков нет</td></tr>\n", f);
	fputs("</table>\n", f);
	free(peer);

	fputs("<p>Отправленные пакеты без квитанции получателя (в пути):</p>\n"
	      "<table>\n<tr><th>Пакет</th><th>Состояние</th><th>Создан "
	      "(UTC)</th><th>Возраст, мин</th><th>Предъявлений</th></tr>\n",
	    f);
	st = db_prepare(db,
	    "SELECT name, state, created, offers FROM packages WHERE"
	    " direction = 'out' AND receipted IS NULL AND state NOT IN"
	    " ('building', 'delivered') ORDER BY seq");
	while (sqlite3_step(st) == SQLITE_ROW) {
		fputs("<tr><td>", f);
		cmd_report_esc(f, cmd_report_col(st, 0));
		fputs("</td><td>", f);
		cmd_report_esc(f, cmd_report_col(st, 1));
		fputs("</td><td>", f);
		cmd_report_time(f, sqlite3_column_int64(st, 2));
		fprintf(f,
		    "</td><td class=\"n\">%" PRId64 "</td><td "
		    "class=\"n\">%" PRId64 "</td></tr>\n",
		    (now - (int64_t)sqlite3_column_int64(st, 2)) / 60,
		    (int64_t)sqlite3_column_int64(st, 3));
		nflight++;
	}
	sqlite3_finalize(st);
	if (nflight == 0)
		fputs("<tr><td colspan=\"5\">нет</td></tr>\n", f);
	fprintf(f,
	    "</table>\n<p>Всего в пути: <span id=\"in-flight\">%d"
	    "</span>.</p>\n",
	    nflight);
}

/* An appeal's state from the type of its latest event. */
static const char *
cmd_report_event_state(const char *body)
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

/* Appeals by status and the overdue ones. */
static void
cmd_report_appeals(FILE *f, struct db *db)
{
	struct report_bars bs = {0};
	sqlite3_stmt *st;
	int core = cmd_report_has_table(db, "core_appeals"), n = 0;

	fputs("<h2 id=\"appeals\">Обращения по статусам</h2>\n", f);
	if (core) {
		fputs("<p>Источник: учёт обращений ядра (таблица "
		      "<code>core_appeals</code>).</p>\n",
		    f);
		st = db_prepare(db, "SELECT state, COUNT(*) FROM core_appeals"
		                    " GROUP BY state ORDER BY 2 DESC, 1");
		while (sqlite3_step(st) == SQLITE_ROW)
			cmd_report_bar_add(&bs, cmd_report_col(st, 0),
			    (double)sqlite3_column_int64(st, 1), 0);
		sqlite3_finalize(st);
	} else {
		fputs("<p>Источник: обращения и события в документах обмена "
		      "(статус по последнему полученному событию).</p>\n",
		    f);
		st = db_prepare(db,
		    "SELECT (SELECT e.body FROM documents e WHERE e.kind ="
		    " 'event' AND e.pos_id = a.pos_id AND e.direction !="
		    " a.direction ORDER BY e.n DESC, e.id DESC LIMIT 1)"
		    " FROM documents a WHERE a.kind = 'appeal'");
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *s = cmd_report_event_state(
			    (const char *)sqlite3_column_text(st, 0));
			size_t i;

			for (i = 0; i < bs.n; i++)
				if (strcmp(bs.b[i].label, s) == 0)
					break;
			if (i == bs.n)
				cmd_report_bar_add(&bs, s, 0, 0);
			bs.b[i].v[0]++;
		}
		sqlite3_finalize(st);
	}
	if (bs.n == 0)
		fputs("<p>Обращений нет.</p>\n", f);
	else {
		for (size_t i = 0; i < bs.n; i++) {
			char *ru = xstrdup(cmd_report_state_ru(bs.b[i].label));

			free(bs.b[i].label);
			bs.b[i].label = ru;
		}
		cmd_report_svg_bars(f, &bs, 1, NULL, "Обращения по статусам");
		fputs(
		    "<table>\n<tr><th>Статус</th><th>Обращений</th></tr>\n", f);
		for (size_t i = 0; i < bs.n; i++) {
			fputs("<tr><td>", f);
			cmd_report_esc(f, bs.b[i].label);
			fprintf(f, "</td><td class=\"n\">%.0f</td></tr>\n",
			    bs.b[i].v[0]);
		}
		fputs("</table>\n", f);
	}
	cmd_report_bars_free(&bs);

	fputs("<h2 id=\"overdue\">Просроченные обращения</h2>\n", f);
	if (!core) {
		fputs("<p>Сроки рассмотрения ведёт ядро; в этой базе таблицы "
		      "<code>core_appeals</code> нет, просрочка не "
		      "вычисляется.</p>\n",
		    f);
		return;
	}
	fputs("<p>Срок рассмотрения истёк (раньше сегодняшней даты UTC), "
	      "обращение не закрыто.</p>\n<table>\n<tr><th>Номер "
	      "ПОС</th><th>Вид</th><th>Поступило</th><th>Срок</th>"
	      "<th>Статус</th></tr>\n",
	    f);
	st = db_prepare(db,
	    "SELECT pos_id, kind, created, due, state FROM core_appeals"
	    " WHERE due IS NOT NULL AND due != '' AND due < date('now')"
	    " AND state NOT IN ('answered', 'declined', 'forwarded')"
	    " ORDER BY due, pos_id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < 4; i++) {
			fputs(i == 0 ? "<tr><td>" : "</td><td>", f);
			cmd_report_esc(f, cmd_report_col(st, i));
		}
		fputs("</td><td>", f);
		cmd_report_esc(f, cmd_report_state_ru(cmd_report_col(st, 4)));
		fputs("</td></tr>\n", f);
		n++;
	}
	sqlite3_finalize(st);
	if (n == 0)
		fputs("<tr><td colspan=\"5\">просроченных обращений нет</td>"
		      "</tr>\n",
		    f);
	fprintf(f,
	    "</table>\n<p>Всего просрочено: <span id=\"overdue-n\">%d"
	    "</span>.</p>\n",
	    n);
}

/* Count how the packages one side sent fared at the other (see reconcile). */
static void
cmd_report_reconcile_dir(struct db *from, struct db *to, int *c)
{
	sqlite3_stmt *st, *q;
	int64_t now = (int64_t)time(NULL);

	st = db_prepare(from,
	    "SELECT seq, uuid, manifest_digest, created FROM packages"
	    " WHERE direction = 'out' AND state != 'building'");
	q = db_prepare(to,
	    "SELECT state, manifest_digest FROM packages WHERE direction ="
	    " 'in' AND uuid = ? AND seq = ? ORDER BY state = 'accepted' DESC");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *dig = (const char *)sqlite3_column_text(st, 2);

		sqlite3_reset(q);
		sqlite3_bind_text(
		    q, 1, cmd_report_col(st, 1), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 2, sqlite3_column_int64(st, 0));
		if (sqlite3_step(q) == SQLITE_ROW) {
			const char *d2 =
			    (const char *)sqlite3_column_text(q, 1);

			if (strcmp(cmd_report_col(q, 0), "accepted") != 0)
				c[1]++;
			else if (dig && d2 && strcmp(dig, d2) == 0)
				c[0]++;
			else
				c[3]++;
		} else if (now - sqlite3_column_int64(st, 3) >= REPORT_MAX_AGE)
			c[4]++;
		else
			c[2]++;
	}
	sqlite3_finalize(q);
	sqlite3_finalize(st);
}

/* Reconciliation counts and the peer's copies of this side's checkpoints. */
static void
cmd_report_peer(FILE *f, struct db *db, struct db *peer, const char *peerpath)
{
	static const char *const labels[] = {"получено (дайджест совпал)",
	    "отклонено получателем", "в пути", "расхождение дайджеста",
	    "утеряно (старше 24 ч, не получено)"};
	static const char *const ids[] = {"rec-received", "rec-rejected",
	    "rec-flight", "rec-mismatch", "rec-lost"};
	int c[2][5] = {{0}}, bad = 0, ncp = 0;
	char *own = db_meta_get(db, "own_id");
	char *pid = db_meta_get(peer, "own_id");
	sqlite3_stmt *st, *q;

	fputs("<h2 id=\"peer\">Сверка с базой партнёра</h2>\n<p>База "
	      "партнёра: <code>",
	    f);
	cmd_report_esc(f, peerpath);
	fputs("</code> (шлюз ", f);
	cmd_report_esc(f, pid ? pid : "?");
	fputs(").</p>\n", f);
	cmd_report_reconcile_dir(db, peer, c[0]);
	cmd_report_reconcile_dir(peer, db, c[1]);
	fputs("<table>\n<tr><th>Пакеты</th><th>Отправлены этим шлюзом</th>"
	      "<th>Отправлены партнёром</th><th>Всего</th></tr>\n",
	    f);
	for (int i = 0; i < 5; i++) {
		fprintf(f,
		    "<tr><td>%s</td><td class=\"n\">%d</td><td "
		    "class=\"n\">%d</td><td class=\"n\" id=\"%s\">%d</td>"
		    "</tr>\n",
		    labels[i], c[0][i], c[1][i], ids[i], c[0][i] + c[1][i]);
		if (i >= 3)
			bad |= c[0][i] + c[1][i] > 0;
	}
	fputs("</table>\n", f);
	if (bad)
		fputs("<p class=\"bad\">Есть расхождения или утерянные "
		      "пакеты: выполните <code>posgw journal reconcile</code> "
		      "для перечня.</p>\n",
		    f);

	st = db_prepare(peer,
	    "SELECT entry, head FROM peer_checkpoints WHERE gateway = ?"
	    " ORDER BY entry");
	sqlite3_bind_text(st, 1, own ? own : "", -1, SQLITE_STATIC);
	q = db_prepare(db, "SELECT hash FROM journal WHERE seq = ?");
	fputs("<p>Копии контрольных точек этого шлюза у партнёра:</p>\n"
	      "<table>\n<tr><th>Запись журнала</th><th>Хеш у партнёра</th>"
	      "<th>Совпадает</th></tr>\n",
	    f);
	bad = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int match;

		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, sqlite3_column_int64(st, 0));
		match =
		    sqlite3_step(q) == SQLITE_ROW &&
		    strcmp(cmd_report_col(q, 0), cmd_report_col(st, 1)) == 0;
		fprintf(f, "<tr><td class=\"n\">%" PRId64 "</td><td><code>",
		    (int64_t)sqlite3_column_int64(st, 0));
		cmd_report_esc(f, cmd_report_col(st, 1));
		fprintf(f, "</code></td><td>%s</td></tr>\n",
		    match ? "да" : "<b style=\"color:#c62828\">НЕТ</b>");
		bad |= !match;
		ncp++;
	}
	sqlite3_finalize(q);
	sqlite3_finalize(st);
	if (ncp == 0)
		fputs("<tr><td colspan=\"3\">у партнёра нет копий</td></tr>\n",
		    f);
	fputs("</table>\n", f);
	if (bad)
		fputs("<p class=\"bad\" id=\"peer-cp\">КОНТРОЛЬНЫЕ ТОЧКИ НЕ "
		      "СОВПАДАЮТ: история журнала этого шлюза переписана после "
		      "передачи контрольной точки партнёру.</p>\n",
		    f);
	else
		fprintf(f,
		    "<p class=\"ok\" id=\"peer-cp\">Контрольные точки "
		    "совпадают: проверено %d.</p>\n",
		    ncp);
	free(own);
	free(pid);
}

/* Write buf to path atomically: a temporary file, fsync, rename. */
static int
cmd_report_write(const char *path, const char *buf, size_t len)
{
	char *tmp, *dcopy;
	size_t off = 0;
	ssize_t w;
	int fd, dfd;

	xasprintf(&tmp, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(stderr,
		    "posgw: journal report: cannot create %s: %s; check that "
		    "the directory exists and is writable\n",
		    tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	fchmod(fd, 0644);
	while (off < len) {
		if ((w = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	dcopy = xstrdup(path);
	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	free(dcopy);
	free(tmp);
	return 0;
fail:
	fprintf(stderr,
	    "posgw: journal report: cannot write %s: %s; check the free "
	    "space and permissions\n",
	    path, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

/* posgw journal report */
int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"peer", required_argument, NULL, 'p'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *peerpath = NULL, *out = NULL;
	struct db *db, *peer = NULL;
	char *buf = NULL, *own;
	size_t len = 0;
	FILE *f;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			peerpath = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return 0;
		default:
			fputs(report_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		cli_usage_error("journal report needs one DB (see --help)");
	if (out == NULL)
		cli_usage_error("journal report needs --out REPORT.html");
	if ((db = cli_db_read(argv[optind], "journal report")) == NULL)
		return 1;
	if ((own = db_meta_get(db, "own_id")) == NULL) {
		fprintf(stderr,
		    "posgw: journal report: %s is not a posgw gateway "
		    "database (no own_id); give the gateway's posgw.db\n",
		    argv[optind]);
		db_close(db);
		return 1;
	}
	if (peerpath != NULL &&
	    (peer = cli_db_read(peerpath, "journal report --peer")) == NULL) {
		free(own);
		db_close(db);
		return 1;
	}
	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("journal report: open_memstream");
	cmd_report_head(f, own, argv[optind]);
	cmd_report_verify(f, db);
	cmd_report_days(f, db);
	cmd_report_rejects(f, db);
	cmd_report_latency(f, db);
	cmd_report_gaps(f, db);
	cmd_report_appeals(f, db);
	if (peer != NULL)
		cmd_report_peer(f, db, peer, peerpath);
	fputs("<p class=\"muted\">Отчёт сформирован командой <code>posgw "
	      "journal report</code>; базы открыты только для чтения.</p>\n"
	      "</body>\n</html>\n",
	    f);
	if (fclose(f) != 0)
		fatal("journal report: building the report in memory");
	rc = cmd_report_write(out, buf, len) == 0 ? 0 : 1;
	free(buf);
	free(own);
	db_close(peer);
	db_close(db);
	return rc;
}
