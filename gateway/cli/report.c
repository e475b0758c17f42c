/*
 * report.c: what the parts of posgw journal report share: statements over
 * the period, columns, and the Russian words for codes and states.
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

/*
 * Prepare a statement, binding the period wherever it names :from and :to
 * (UTC seconds) or :dfrom and :dto (dates as text).
 */
sqlite3_stmt *
report_stmt(struct report *r, struct db *db, const char *sql)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	int i;

	if ((i = sqlite3_bind_parameter_index(st, ":from")) > 0)
		sqlite3_bind_int64(st, i, r->from);
	if ((i = sqlite3_bind_parameter_index(st, ":to")) > 0)
		sqlite3_bind_int64(st, i, r->to);
	if ((i = sqlite3_bind_parameter_index(st, ":dfrom")) > 0)
		sqlite3_bind_text(st, i, r->dfrom[0] ? r->dfrom : "0000-00-00",
		    -1, SQLITE_STATIC);
	if ((i = sqlite3_bind_parameter_index(st, ":dto")) > 0)
		sqlite3_bind_text(st, i, r->dto[0] ? r->dto : "9999-99-99", -1,
		    SQLITE_STATIC);
	return st;
}

/* One number from a statement over the period. */
int64_t
report_int(struct report *r, struct db *db, const char *sql)
{
	sqlite3_stmt *st = report_stmt(r, db, sql);
	int64_t v = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	db_finalize(st);
	return v;
}

/* Text column i of a row, never NULL. */
const char *
report_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* A rejection code (package.md section 9) in words for the auditors. */
const char *
report_code_ru(const char *code)
{
	static const struct {
		const char *code, *ru;
	} names[] = {
	    {"name", "недопустимое имя файла"},
	    {"size", "превышен допустимый размер"},
	    {"archive", "повреждённый архив"},
	    {"entry", "недопустимый элемент архива"},
	    {"manifest", "ошибка в манифесте"},
	    {"signature", "подпись не верна"},
	    {"untrusted", "подписант не доверенный"},
	    {"recipient", "пакет адресован другому шлюзу"},
	    {"digest", "содержимое не совпало с хешем"},
	    {"payload", "ошибка в документах пакета"},
	    {"conflict", "конфликт: тот же номер с другим содержимым"},
	    {"envelope", "повреждённый конверт шифрования"},
	    {"key", "зашифрован не на ключ этого шлюза"},
	    {"decrypt", "шифртекст не прошёл проверку имитовставки"},
	    {"plain", "пакет без шифрования не принимается"},
	    {"rejected", "отклонён"},
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(names[i].code, code) == 0)
			return names[i].ru;
	return "прочее";
}

/* An appeal state's name for the auditors. */
const char *
report_state_ru(const char *state)
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
	return "неизвестный статус";
}

/* A code or state in words, the raw value in its tooltip. */
void
report_term(FILE *f, const char *ru, const char *raw)
{
	fputs("<span title=\"", f);
	report_html_esc(f, raw);
	fputs("\">", f);
	report_html_esc(f, ru);
	fputs("</span> <code class=\"raw\">", f);
	report_html_esc(f, raw);
	fputs("</code>", f);
}
