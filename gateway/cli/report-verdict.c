/*
 * report-verdict.c: the top of posgw journal report: the header with the
 * period, the verdict box made from what the sections found, and the
 * verification of the journal's chain and checkpoints.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
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

static void report_verdict_certs(FILE *f, const struct report *r);
static void report_verdict_line(FILE *f, int bad, const char *anchor,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void report_verdict_verify_ru(
    const struct report *r, char *buf, size_t len);

/* The start of the document: style sheet, title, what and when. */
void
report_verdict_head(FILE *f, struct report *r)
{
	fputs("<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n"
	      "<meta charset=\"utf-8\"/>\n<title>Отчёт по журналу обмена ",
	    f);
	report_html_esc(f, r->own);
	fputs(
	    "</title>\n<style>\n"
	    "body{font-family:sans-serif;margin:2em;color:#222;"
	    "max-width:960px}\n"
	    "h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;"
	    "border-bottom:1px solid #ccc}\n"
	    "table{border-collapse:collapse;margin:.5em 0}\n"
	    "td,th{border:1px solid #bbb;padding:.2em .6em;"
	    "text-align:left;vertical-align:top}\n"
	    "th{background:#eee}td.n{text-align:right}\n"
	    "table.heat td{min-width:2.5em;print-color-adjust:exact;"
	    "-webkit-print-color-adjust:exact}\n"
	    ".verdict{padding:.8em 1em;margin:1em 0}\n"
	    ".verdict h2{border:0;margin:0 0 .4em 0;font-size:1.4em}\n"
	    ".verdict ul{margin:.2em 0;padding-left:1.4em}\n"
	    ".ok{background:#e6f4ea;border:2px solid #2e7d32;color:#1b5e20}\n"
	    ".warn{background:#fff6e0;border:3px solid #b26a00;"
	    "color:#7a4800}\n"
	    ".bad{background:#fdecea;border:3px solid #c62828;color:#b71c1c}\n"
	    ".verdict li{color:#333}li.problem{font-weight:bold}\n"
	    "li.problem a{color:#b71c1c}\n"
	    "pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap}\n"
	    ".muted{color:#666}code.raw{color:#777;font-size:.85em}\n"
	    "svg.chart{max-width:100%;height:auto}\n"
	    "@media print{body{margin:0}details{display:block}}\n"
	    "</style>\n</head>\n<body>\n<h1>Отчёт по журналу обмена шлюза ",
	    f);
	report_html_esc(f, r->own);
	fputs("</h1>\n<p>База данных: <code>", f);
	report_html_esc(f, r->path);
	fputs("</code><br/>Период: <b id=\"period\">", f);
	if (r->dfrom[0] == '\0' && r->dto[0] == '\0')
		fputs("вся история журнала", f);
	else {
		if (r->dfrom[0] != '\0') {
			fputs("с ", f);
			report_html_esc(f, r->dfrom);
		}
		if (r->dto[0] != '\0') {
			fputs(r->dfrom[0] ? " по " : "по ", f);
			report_html_esc(f, r->dto);
		}
		fputs(" включительно (UTC)", f);
	}
	fputs("</b> — за период считаются пакеты, отклонения, задержки и "
	      "поступившие обращения; цепочка журнала, пропуски, потери и "
	      "просрочка проверяются целиком на момент формирования.<br/>"
	      "Сформирован: ",
	    f);
	report_html_time(f, r->now);
	fputs(" (UTC)</p>\n", f);
}

/* One line of the verdict: a problem (linked to its section) or a pass. */
static void
report_verdict_line(FILE *f, int bad, const char *anchor, const char *fmt, ...)
{
	va_list ap;

	if (bad)
		fprintf(f, "<li class=\"problem\"><a href=\"#%s\">", anchor);
	else
		fputs("<li>", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputs(bad ? "</a></li>\n" : "</li>\n", f);
}

/*
 * Certificates the gateway journaled as expiring (cert.expiring, once
 * each): a warning line each, the verdict itself unchanged.
 */
static void
report_verdict_certs(FILE *f, const struct report *r)
{
	sqlite3_stmt *st;

	st = db_prepare(r->db, "SELECT at, detail FROM journal WHERE kind ="
	                       " 'cert.expiring' ORDER BY seq DESC LIMIT 10");
	while (sqlite3_step(st) == SQLITE_ROW) {
		fputs("<li class=\"problem\"><a href=\"#verify\">"
		      "Истекает срок сертификата (запись журнала от ",
		    f);
		report_html_time(f, sqlite3_column_int64(st, 0));
		fputs("): ", f);
		report_html_esc(f, (const char *)sqlite3_column_text(st, 1));
		fputs("</a></li>\n", f);
	}
	db_finalize(st);
}

/* The verification's first problem in Russian, for the verdict. */
static void
report_verdict_verify_ru(const struct report *r, char *buf, size_t len)
{
	const char *t = r->verr.text;
	long long a = 0, b = 0;

	/* sscanf counts conversions only: the phrase is told by strstr */
	if (r->vrc < 0)
		snprintf(buf, len, "журнал не удалось прочитать");
	else if (strstr(t, ": expected entry") != NULL &&
	         sscanf(t, "entry %lld: expected entry %lld", &a, &b) == 2)
		snprintf(buf, len,
		    "цепочка журнала нарушена: перед записью %lld нет записей "
		    "с %lld (удалены или переставлены)",
		    a, b);
	else if (strstr(t, ": its previous-hash") != NULL &&
	         sscanf(t, "entry %lld:", &a) == 1)
		snprintf(buf, len,
		    "цепочка журнала нарушена: запись %lld не продолжает "
		    "предыдущую (записи удалены, переставлены или изменены)",
		    a);
	else if (strstr(t, ": content does not match") != NULL &&
	         sscanf(t, "entry %lld:", &a) == 1)
		snprintf(buf, len,
		    "цепочка журнала нарушена: запись %lld изменена (её "
		    "содержимое не совпадает с её хешем)",
		    a);
	else if (strstr(t, "): signature:") != NULL &&
	         sscanf(t, "checkpoint %lld (entry %lld)", &a, &b) == 2)
		snprintf(buf, len,
		    "подпись контрольной точки %lld (запись %lld) не "
		    "проверяется по %s",
		    a, b,
		    r->trust ? "указанному сертификату (--trust)"
		             : "сертификату из базы");
	else if (strstr(t, "(tail truncated)") != NULL &&
	         sscanf(t, "checkpoint %lld covers entry %lld", &a, &b) == 2)
		snprintf(buf, len,
		    "журнал обрезан: контрольная точка %lld подписана на "
		    "запись %lld, а журнал кончается раньше",
		    a, b);
	else if (strstr(t, "(history rewritten)") != NULL &&
	         sscanf(t, "checkpoint %lld: entry %lld", &a, &b) == 2)
		snprintf(buf, len,
		    "история журнала переписана: запись %lld не совпадает с "
		    "подписанной контрольной точкой %lld",
		    b, a);
	else if (strstr(t, ": malformed") != NULL &&
	         sscanf(t, "checkpoint %lld:", &a) == 1)
		snprintf(buf, len, "контрольная точка %lld повреждена", a);
	else
		snprintf(buf, len, "журнал не прошёл проверку");
}

/* The first box: the whole verdict, made from what the sections found. */
void
report_verdict(FILE *f, struct report *r)
{
	char v[384];
	int bad, warn;

	bad = r->vrc != 0 || r->gaps > 0 || r->rej_in > 0 || r->rej_out > 0 ||
	      r->lost > 0 || r->mismatch > 0 || r->stale > 0 || r->cp_bad ||
	      r->overdue > 0 || r->ho_refused > 0 || r->ho_lost > 0 ||
	      r->ho_unrec > 0;
	warn = r->trust == NULL || r->ncp == 0;
	fprintf(f,
	    "<div class=\"verdict %s\" id=\"verdict\">\n<h2>%s</h2>\n<ul>\n",
	    bad    ? "bad"
	    : warn ? "warn"
	           : "ok",
	    bad    ? "ПРОВЕРКА НЕ ПРОЙДЕНА"
	    : warn ? "ПРОВЕРКА НЕ ЗАВЕРШЕНА"
	           : "ПРОВЕРКА ПРОЙДЕНА");
	if (r->vrc != 0) {
		report_verdict_verify_ru(r, v, sizeof v);
		report_verdict_line(f, 1, "verify", "Журнал: %s.", v);
	}
	if (r->gaps > 0)
		report_verdict_line(f, 1, "gaps",
		    "Пропущено пакетов партнёра: %" PRId64
		    " (номера не получены ни разу).",
		    r->gaps);
	if (r->conflicts > 0)
		report_verdict_line(f, 1, "rejects",
		    "Конфликты номеров: %" PRId64
		    " (пакет с уже принятым номером и другим содержимым — "
		    "признак подмены).",
		    r->conflicts);
	if (r->rej_in - r->conflicts > 0)
		report_verdict_line(f, 1, "rejects",
		    "Отклонено пакетов партнёра этим шлюзом: %" PRId64 ".",
		    r->rej_in - r->conflicts);
	if (r->rej_out > 0)
		report_verdict_line(f, 1, "rejects",
		    "Отклонено пакетов этого шлюза партнёром: %" PRId64 ".",
		    r->rej_out);
	if (r->lost > 0)
		report_verdict_line(f, 1, "peer",
		    "Утеряно пакетов: %" PRId64
		    " (отправлены более суток назад, другая сторона их не "
		    "получала).",
		    r->lost);
	if (r->mismatch > 0)
		report_verdict_line(f, 1, "peer",
		    "Расхождение содержимого: %" PRId64
		    " пакетов получены другой стороной не такими, какими "
		    "отправлены.",
		    r->mismatch);
	if (r->stale > 0)
		report_verdict_line(f, 1, "gaps",
		    "Без квитанции более суток: %" PRId64 " пакетов.",
		    r->stale);
	if (r->cp_bad)
		report_verdict_line(f, 1, "peer",
		    "Копии контрольных точек у партнёра не совпадают с "
		    "журналом: "
		    "история журнала переписана после их передачи.");
	if (r->overdue > 0)
		report_verdict_line(f, 1, "overdue",
		    "Просрочено обращений: %" PRId64 ".", r->overdue);
	report_verdict_certs(f, r);
	if (r->ho_refused > 0)
		report_verdict_line(f, 1, "handovers",
		    "Отказов от носителя за период: %" PRId64
		    " (опись без подписи, изменена или с другого носителя).",
		    r->ho_refused);
	if (r->ho_lost > 0)
		report_verdict_line(f, 1, "handovers",
		    "Носителей, не загруженных другой стороной: %" PRId64
		    " (выгружены более суток назад).",
		    r->ho_lost);
	if (r->ho_unrec > 0)
		report_verdict_line(f, 1, "handovers",
		    "Носителей, загруженных без записанной выгрузки: %" PRId64
		    ".",
		    r->ho_unrec);
	if (r->trust == NULL)
		report_verdict_line(f, 1, "verify",
		    "Контрольные точки не проверены независимо: сертификат "
		    "шлюза не указан (--trust), подписи проверены только по "
		    "сертификату из самой базы.");
	else if (r->ncp == 0 && r->vrc == 0)
		report_verdict_line(f, 1, "verify",
		    "Подписанных контрольных точек в журнале нет: "
		    "целостность журнала не подтверждена подписью.");
	if (r->vrc == 0)
		report_verdict_line(f, 0, "verify",
		    "Цепочка хешей журнала цела (записей: %" PRId64 ").",
		    r->entries);
	if (r->vrc == 0 && r->trust != NULL && r->ncp > 0)
		report_verdict_line(f, 0, "verify",
		    "Контрольные точки подписаны сертификатом, указанным "
		    "проверяющим, и совпадают с журналом (точек: %" PRId64 ").",
		    r->ncp);
	if (r->gaps == 0)
		report_verdict_line(f, 0, "gaps", "Пропусков в нумерации нет.");
	if (r->rej_in == 0 && r->rej_out == 0)
		report_verdict_line(
		    f, 0, "rejects", "Отклонённых пакетов за период нет.");
	if (r->peer != NULL && r->lost == 0 && r->mismatch == 0 && !r->cp_bad)
		report_verdict_line(f, 0, "peer",
		    "Сверка с базой партнёра: потерь и расхождений нет.");
	if (r->overdue == 0)
		report_verdict_line(
		    f, 0, "overdue", "Просроченных обращений нет.");
	if (r->peer == NULL)
		report_verdict_line(f, 0, "gaps",
		    "Сверка с базой партнёра не выполнялась (--peer не "
		    "указан): потери видны только по квитанциям.");
	fputs("</ul>\n</div>\n", f);
}

/* The verification of the hash chain and the signed checkpoints. */
void
report_verdict_verify(FILE *f, struct report *r)
{
	char *buf = NULL, v[384];
	size_t len = 0, i;
	FILE *m;

	if ((m = open_memstream(&buf, &len)) == NULL)
		fatal("journal report: open_memstream");
	r->vrc = journal_verify(r->db, r->trust, m, &r->verr);
	fclose(m);
	r->entries = db_int(r->db, "SELECT COUNT(*) FROM journal", 0);
	r->ncp = db_int(r->db, "SELECT COUNT(*) FROM checkpoints", 0);

	fputs("<h2 id=\"verify\">Проверка цепочки журнала и контрольных "
	      "точек</h2>\n",
	    f);
	if (r->vrc == 0)
		fprintf(f,
		    "<p id=\"verify-result\">Цепочка хешей цела: каждая "
		    "запись продолжает предыдущую (записей: %" PRId64 "); "
		    "подписанные контрольные точки совпадают с журналом "
		    "(точек: %" PRId64 ").</p>\n",
		    r->entries, r->ncp);
	else {
		report_verdict_verify_ru(r, v, sizeof v);
		fputs("<p id=\"verify-result\" class=\"bad\">Журнал не прошёл "
		      "проверку: ",
		    f);
		report_html_esc(f, v);
		fputs(".<br/>Сообщение программы: <code>", f);
		report_html_esc(f, r->verr.text);
		fputs("</code></p>\n", f);
	}
	if (r->trust != NULL) {
		fputs("<p>Подписи контрольных точек проверены по сертификату, "
		      "указанному проверяющим:",
		    f);
		for (i = 0; i < r->ntrust; i++) {
			fputs(" <code>", f);
			report_html_esc(f, r->trustpath[i]);
			fputs("</code>", f);
		}
		fputs(".</p>\n", f);
	} else
		fputs("<p class=\"warn verdict\">Сертификат шлюза не указан: "
		      "подписи контрольных точек проверены только по "
		      "сертификату, хранящемуся в самой базе, а его мог "
		      "заменить тот, кто переписал журнал. Для независимой "
		      "проверки сформируйте отчёт с <code>--trust CERT</code> "
		      "(сертификат шлюза, полученный при обмене "
		      "сертификатами).</p>\n",
		    f);
	fputs("<details><summary>Технический вывод <code>posgw journal "
	      "verify</code></summary>\n<pre>",
	    f);
	report_html_esc(f, buf);
	fputs("</pre></details>\n", f);
	free(buf);
}
