/*
 * report-packages.c: the packages' sections of posgw journal report:
 * totals, packages per day, rejects by code, delivery latency, gaps and
 * packages in flight, and the reconciliation with the peer's database.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "error.h"
#include "journal.h"
#include "log.h"
#include "report.h"
#include "sig.h"
#include "xfer.h"
#include "xmalloc.h"

static int report_packages_cmp(const void *a, const void *b);
static int64_t report_packages_pct(const int64_t *v, size_t n, int p);
static void report_packages_gap_row(int64_t from, int64_t to, void *arg);
static int report_packages_peer_saw(
    struct report *r, const char *uuid, int64_t seq);

/* Totals for the period. */
void
report_packages_totals(FILE *f, struct report *r)
{
	static const struct {
		const char *id, *ru, *sql;
	} rows[] = {
	    {"pkg-out", "Отправлено пакетов",
	        "SELECT COUNT(*) FROM packages WHERE direction = 'out' AND"
	        " state != 'building' AND created BETWEEN :from AND :to"},
	    {"pkg-out-control", "из них служебных (только квитанции)",
	        "SELECT COUNT(*) FROM packages WHERE direction = 'out' AND"
	        " state != 'building' AND control = 1 AND created BETWEEN"
	        " :from AND :to"},
	    {"pkg-in", "Получено пакетов",
	        "SELECT COUNT(*) FROM packages WHERE direction = 'in' AND"
	        " created BETWEEN :from AND :to"},
	    {"pkg-rejected", "Отклонено пакетов партнёра этим шлюзом",
	        "SELECT COUNT(*) FROM packages WHERE direction = 'in' AND"
	        " state IN ('rejected', 'conflict') AND created BETWEEN"
	        " :from AND :to"},
	    {"pkg-rejected-by-peer", "Отклонено пакетов этого шлюза партнёром",
	        "SELECT COUNT(*) FROM packages WHERE direction = 'out' AND"
	        " state = 'rejected' AND created BETWEEN :from AND :to"},
	    {"journal-entries", "Записей в журнале",
	        "SELECT COUNT(*) FROM journal WHERE at BETWEEN :from AND :to"},
	    {"checkpoints", "Подписанных контрольных точек (всего)",
	        "SELECT COUNT(*) FROM checkpoints"},
	};

	fputs("<h2 id=\"totals\">Сводка за период</h2>\n<table>\n"
	      "<tr><th>Показатель</th><th>Значение</th></tr>\n",
	    f);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		fprintf(f,
		    "<tr><td>%s</td><td class=\"n\" id=\"%s\">%" PRId64
		    "</td></tr>\n",
		    rows[i].ru, rows[i].id, report_int(r, r->db, rows[i].sql));
	fputs("</table>\n", f);
}

/* The packages in and out per day of the period. */
void
report_packages_days(FILE *f, struct report *r)
{
	static const char *const names[] = {"отправлено", "получено"};
	struct report_bars bs = {0};
	sqlite3_stmt *st;

	fputs("<h2 id=\"days\">Пакеты по дням</h2>\n", f);
	st = report_stmt(r, r->db,
	    "SELECT date(created, 'unixepoch') AS d, SUM(direction = 'out'),"
	    " SUM(direction = 'in') FROM packages WHERE state != 'building'"
	    " AND created BETWEEN :from AND :to GROUP BY d ORDER BY d");
	while (sqlite3_step(st) == SQLITE_ROW)
		report_html_bars_add(&bs, report_col(st, 0), NULL,
		    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
	db_finalize(st);
	if (bs.n == 0) {
		fputs("<p>Пакетов за период нет.</p>\n", f);
		return;
	}
	report_html_chart(f, &bs, 2, names, "Пакеты по дням");
	fputs("<table>\n<tr><th>Дата (UTC)</th><th>Отправлено</th>"
	      "<th>Получено</th></tr>\n",
	    f);
	for (size_t i = 0; i < bs.n; i++) {
		fputs("<tr><td>", f);
		report_html_esc(f, bs.b[i].label);
		fprintf(f,
		    "</td><td class=\"n\">%" PRId64
		    "</td><td class=\"n\">%" PRId64 "</td></tr>\n",
		    bs.b[i].v[0], bs.b[i].v[1]);
	}
	fputs("</table>\n", f);
	report_html_bars_free(&bs);
}

/* The rejected packages of the period by code, both directions. */
void
report_packages_rejects(FILE *f, struct report *r)
{
	static const char *const names[] = {
	    "отклонено этим шлюзом", "отклонено партнёром"};
	struct report_bars bs = {0};
	sqlite3_stmt *st;
	char title[160];

	fputs("<h2 id=\"rejects\">Отклонённые пакеты по кодам</h2>\n", f);
	st = report_stmt(r, r->db,
	    "SELECT COALESCE(code, state) AS c, SUM(direction = 'in'),"
	    " SUM(direction = 'out') FROM packages WHERE ((direction = 'in'"
	    " AND state IN ('rejected', 'conflict')) OR (direction = 'out' AND"
	    " state = 'rejected')) AND created BETWEEN :from AND :to GROUP BY"
	    " c ORDER BY SUM(1) DESC, c");
	/* the verdict's counts are these rows' sums */
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t in = sqlite3_column_int64(st, 1);
		int64_t out = sqlite3_column_int64(st, 2);

		report_html_bars_add(&bs, report_col(st, 0), NULL, in, out);
		r->rej_in += in;
		r->rej_out += out;
		if (strcmp(report_col(st, 0), "conflict") == 0)
			r->conflicts += in;
	}
	db_finalize(st);
	if (bs.n == 0) {
		fputs("<p>Отклонённых пакетов за период нет.</p>\n", f);
		return;
	}
	fputs("<table>\n<tr><th>Причина (код)</th><th>Отклонено этим "
	      "шлюзом</th><th>Отклонено партнёром</th></tr>\n",
	    f);
	for (size_t i = 0; i < bs.n; i++) {
		const char *ru = report_code_ru(bs.b[i].title);

		fputs("<tr><td>", f);
		report_term(f, ru, bs.b[i].title);
		fprintf(f,
		    "</td><td class=\"n\">%" PRId64
		    "</td><td class=\"n\">%" PRId64 "</td></tr>\n",
		    bs.b[i].v[0], bs.b[i].v[1]);
		/* the chart: the words under the bar, the code in its tooltip */
		snprintf(title, sizeof title, "%s (%s)", ru, bs.b[i].title);
		free(bs.b[i].label);
		free(bs.b[i].title);
		bs.b[i].label = xstrdup(ru);
		bs.b[i].title = xstrdup(title);
	}
	fputs("</table>\n", f);
	report_html_chart(f, &bs, 2, names, "Отклонённые пакеты по кодам");
	st = report_stmt(r, r->db,
	    "SELECT name, direction, COALESCE(code, state), reason, created"
	    " FROM packages WHERE ((direction = 'in' AND state IN ('rejected',"
	    " 'conflict')) OR (direction = 'out' AND state = 'rejected')) AND"
	    " created BETWEEN :from AND :to ORDER BY id DESC LIMIT 50");
	fputs("<p>Последние отклонённые пакеты (до 50):</p>\n<table>\n"
	      "<tr><th>Пакет</th><th>Кем отклонён</th><th>Причина (код)</th>"
	      "<th>Подробности</th><th>Время (UTC)</th></tr>\n",
	    f);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *c = report_col(st, 2);

		fputs("<tr><td>", f);
		report_html_esc(f, report_col(st, 0));
		fputs(strcmp(report_col(st, 1), "in") == 0
		          ? "</td><td>этим шлюзом</td><td>"
		          : "</td><td>партнёром</td><td>",
		    f);
		report_term(f, report_code_ru(c), c);
		fputs("</td><td>", f);
		report_html_esc(f, report_col(st, 3));
		fputs("</td><td>", f);
		report_html_time(f, sqlite3_column_int64(st, 4));
		fputs("</td></tr>\n", f);
	}
	db_finalize(st);
	fputs("</table>\n", f);
	report_html_bars_free(&bs);
}

/* Compare two latencies for qsort. */
static int
report_packages_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile p of n sorted values. */
static int64_t
report_packages_pct(const int64_t *v, size_t n, int p)
{
	size_t k = (n * (size_t)p + 99) / 100;

	return v[k == 0 ? 0 : k - 1];
}

/* The latency from a package's creation to the peer's receipt. */
void
report_packages_latency(FILE *f, struct report *r)
{
	struct report_bars bs = {0};
	sqlite3_stmt *st;
	int64_t *v = NULL, width, max;
	size_t n = 0, i, nbins;
	char label[96], a[40], b[40], p[4][40];

	fputs("<h2 id=\"latency\">Задержка доставки</h2>\n<p>Время от "
	      "создания исходящего пакета до получения квитанции от "
	      "получателя (служебные пакеты без квитанций не считаются).</p>\n",
	    f);
	st = report_stmt(r, r->db,
	    "SELECT MAX(receipted - created, 0) FROM packages WHERE"
	    " direction = 'out' AND receipted IS NOT NULL AND created BETWEEN"
	    " :from AND :to");
	while (sqlite3_step(st) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = sqlite3_column_int64(st, 0);
	}
	db_finalize(st);
	if (n == 0) {
		fputs("<p>Квитированных пакетов за период нет.</p>\n", f);
		return;
	}
	qsort(v, n, sizeof *v, report_packages_cmp);
	max = v[n - 1];
	nbins = max + 1 < 12 ? (size_t)max + 1 : 12;
	width = (max + (int64_t)nbins) / (int64_t)nbins;
	for (i = 0; i < nbins; i++) {
		report_html_duration(a, sizeof a, (int64_t)i * width);
		report_html_duration(b, sizeof b, ((int64_t)i + 1) * width - 1);
		if (width == 1)
			snprintf(label, sizeof label, "%s", a);
		else
			snprintf(label, sizeof label, "%s – %s", a, b);
		report_html_bars_add(&bs, label, NULL, 0, 0);
	}
	for (i = 0; i < n; i++) {
		size_t k = (size_t)(v[i] / width);

		bs.b[k < nbins ? k : nbins - 1].v[0]++;
	}
	report_html_duration(p[0], sizeof p[0], report_packages_pct(v, n, 50));
	report_html_duration(p[1], sizeof p[1], report_packages_pct(v, n, 95));
	report_html_duration(p[2], sizeof p[2], report_packages_pct(v, n, 99));
	report_html_duration(p[3], sizeof p[3], max);
	fprintf(f,
	    "<p id=\"latency-pct\">Квитировано пакетов: %zu. Медиана (p50): "
	    "<b>%s</b>, p95: <b>%s</b>, p99: <b>%s</b>, максимум: %s.</p>\n",
	    n, p[0], p[1], p[2], p[3]);
	report_html_chart(f, &bs, 1, NULL, "Распределение задержки доставки");
	report_html_bars_free(&bs);
	free(v);
}

/* One table row per run of missing seqs (ingest_gaps callback). */
static void
report_packages_gap_row(int64_t from, int64_t to, void *arg)
{
	fprintf((FILE *)arg,
	    "<tr><td>%" PRId64 "–%" PRId64 "</td><td class=\"n\">%" PRId64
	    "</td></tr>\n",
	    from, to, to - from + 1);
}

/*
 * The peer's view of a package this side sent: 1 accepted or rejected
 * there, 0 never seen.
 */
static int
report_packages_peer_saw(struct report *r, const char *uuid, int64_t seq)
{
	sqlite3_stmt *q = db_prepare(r->peer,
	    "SELECT 1 FROM packages WHERE direction = 'in' AND uuid = ? AND"
	    " seq = ?");
	int seen;

	sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	seen = sqlite3_step(q) == SQLITE_ROW;
	db_finalize(q);
	return seen;
}

/*
 * Gaps in the peer's sequence and this side's packages in flight: sent,
 * without a receipt and (with --peer) never seen by the peer. Packages of
 * receipts only are never receipted: without --peer they are not counted.
 */
void
report_packages_gaps(FILE *f, struct report *r)
{
	sqlite3_stmt *st;
	char age[40];

	fputs("<h2 id=\"gaps\">Пропуски и пакеты в пути</h2>\n", f);
	fputs("<p>Пропуски в нумерации пакетов, полученных от ", f);
	report_html_esc(f, r->peer_id ? r->peer_id : "партнёра");
	fputs(" (номера ниже последнего принятого, не полученные ни разу):"
	      "</p>\n<table>\n<tr><th>Номера</th><th>Пакетов</th></tr>\n",
	    f);
	r->gaps = ingest_gaps(
	    r->db, r->peer_id ? r->peer_id : "", report_packages_gap_row, f);
	if (r->gaps == 0)
		fputs("<tr><td colspan=\"2\">пропусков нет</td></tr>\n", f);
	fprintf(f,
	    "</table>\n<p>Всего пропущено: <span id=\"gaps-n\">%" PRId64
	    "</span>.</p>\n",
	    r->gaps);

	fputs(r->peer != NULL
	          ? "<p>Отправленные пакеты, которых партнёр ещё не получал "
	            "(по его базе):</p>\n"
	          : "<p>Отправленные пакеты без квитанции получателя "
	            "(служебные пакеты с одними квитанциями не квитируются и "
	            "здесь не считаются; с <code>--peer</code> видно "
	            "точно):</p>\n",
	    f);
	fputs("<table>\n<tr><th>Пакет</th><th>Номер</th><th>Создан (UTC)</th>"
	      "<th>В пути</th><th>Предъявлений</th></tr>\n",
	    f);
	st = db_prepare(r->db,
	    "SELECT name, seq, uuid, created, offers, control FROM packages"
	    " WHERE direction = 'out' AND state = 'sent' AND receipted IS NULL"
	    " ORDER BY seq");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t created = sqlite3_column_int64(st, 3);
		int64_t seq = sqlite3_column_int64(st, 1);

		if (r->peer == NULL && sqlite3_column_int(st, 5))
			continue;
		if (r->peer != NULL &&
		    report_packages_peer_saw(r, report_col(st, 2), seq))
			continue;
		if (r->now - created >= REPORT_MAX_AGE && r->peer == NULL)
			r->stale++;
		fputs("<tr><td>", f);
		report_html_esc(f, report_col(st, 0));
		fprintf(f, "</td><td class=\"n\">%" PRId64 "</td><td>", seq);
		report_html_time(f, created);
		report_html_duration(age, sizeof age, r->now - created);
		fprintf(f,
		    "</td><td class=\"n\">%s</td><td class=\"n\">%" PRId64
		    "</td></tr>\n",
		    age, (int64_t)sqlite3_column_int64(st, 4));
		r->flight++;
	}
	db_finalize(st);
	if (r->flight == 0)
		fputs("<tr><td colspan=\"5\">нет</td></tr>\n", f);
	fprintf(f,
	    "</table>\n<p>Всего в пути: <span id=\"in-flight\">%" PRId64
	    "</span>%s.</p>\n",
	    r->flight,
	    r->peer != NULL ? " (старше суток — утеряны, см. сверку)"
	    : r->stale > 0 ? "; из них без квитанции более суток — "
	                     "в заключении"
	                   : "");
}

/* Reconciliation counts and the peer's copies of this side's checkpoints. */
void
report_packages_peer(FILE *f, struct report *r)
{
	static const char *const labels[] = {"получено (содержимое совпало)",
	    "отклонено получателем", "в пути (младше суток)",
	    "расхождение содержимого", "утеряно (старше суток, не получено)"};
	static const char *const ids[] = {"rec-received", "rec-rejected",
	    "rec-flight", "rec-mismatch", "rec-lost"};
	int c[2][5] = {{0}};
	sqlite3_stmt *st, *q;

	fputs("<h2 id=\"peer\">Сверка с базой партнёра</h2>\n<p>База "
	      "партнёра: <code>",
	    f);
	report_html_esc(f, r->peerpath);
	fputs("</code> (шлюз ", f);
	report_html_esc(f, r->peer_own ? r->peer_own : "?");
	fputs("). Сверяется вся история, не только период.</p>\n", f);
	cli_reconcile_dir(
	    r->db, r->own, r->peer, r->peer_own, REPORT_MAX_AGE, c[0], NULL);
	cli_reconcile_dir(
	    r->peer, r->peer_own, r->db, r->own, REPORT_MAX_AGE, c[1], NULL);
	fputs("<table>\n<tr><th>Пакеты</th><th>Отправлены этим шлюзом</th>"
	      "<th>Отправлены партнёром</th><th>Всего</th></tr>\n",
	    f);
	for (int i = 0; i < 5; i++)
		fprintf(f,
		    "<tr><td>%s</td><td class=\"n\">%d</td><td "
		    "class=\"n\">%d</td><td class=\"n\" id=\"%s\">%d</td>"
		    "</tr>\n",
		    labels[i], c[0][i], c[1][i], ids[i], c[0][i] + c[1][i]);
	fputs("</table>\n", f);
	r->mismatch = c[0][3] + c[1][3];
	r->lost = c[0][4] + c[1][4];
	if (r->lost + r->mismatch > 0)
		fputs("<p>Перечень утерянных и расходящихся пакетов: "
		      "<code>posgw journal reconcile EDGE.db "
		      "CORE.db</code>.</p>\n",
		    f);

	st = db_prepare(r->peer,
	    "SELECT entry, head FROM peer_checkpoints WHERE gateway = ?"
	    " ORDER BY entry");
	sqlite3_bind_text(st, 1, r->own, -1, SQLITE_STATIC);
	q = db_prepare(r->db, "SELECT hash FROM journal WHERE seq = ?");
	fputs("<p>Копии контрольных точек этого шлюза у партнёра (их хеши "
	      "должны совпадать с журналом):</p>\n<table>\n<tr><th>Запись "
	      "журнала</th><th>Хеш у партнёра</th><th>Совпадает</th></tr>\n",
	    f);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int match;

		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, sqlite3_column_int64(st, 0));
		match = sqlite3_step(q) == SQLITE_ROW &&
		        strcmp(report_col(q, 0), report_col(st, 1)) == 0;
		fprintf(f, "<tr><td class=\"n\">%" PRId64 "</td><td><code>",
		    (int64_t)sqlite3_column_int64(st, 0));
		report_html_esc(f, report_col(st, 1));
		fprintf(f, "</code></td><td>%s</td></tr>\n",
		    match ? "да" : "<b style=\"color:#c62828\">НЕТ</b>");
		r->cp_bad |= !match;
		r->cp_copies++;
	}
	db_finalize(q);
	db_finalize(st);
	if (r->cp_copies == 0)
		fputs("<tr><td colspan=\"3\">у партнёра копий нет</td></tr>\n",
		    f);
	fputs("</table>\n", f);
	if (r->cp_bad)
		fputs("<p class=\"bad verdict\" id=\"peer-cp\">Копии не "
		      "совпадают: история журнала этого шлюза переписана после "
		      "передачи контрольной точки партнёру.</p>\n",
		    f);
	else if (r->cp_copies > 0)
		fprintf(f,
		    "<p id=\"peer-cp\">Копии совпадают с журналом (проверено "
		    "копий: %d).</p>\n",
		    r->cp_copies);
	else
		fputs("<p id=\"peer-cp\">Партнёр ещё не получил ни одной "
		      "контрольной точки этого шлюза: сверять нечего.</p>\n",
		    f);
}
