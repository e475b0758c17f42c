/*
 * report-html.c: the HTML pieces of posgw journal report: escaping, times
 * and durations in Russian, inline SVG bar charts whose axes count whole
 * things and whose labels fit, and the atomic write of the finished file.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "fsutil.h"
#include "package.h"
#include "report.h"
#include "xmalloc.h"

/* Longest label written under a bar, in characters; the rest is in title. */
#define REPORT_LABEL_MAX 28
/* Estimated width of one character of the 11 px axis font, in pixels. */
#define REPORT_CHAR_W 6.6
/* The widest room for one bar (or pair of bars), in pixels. */
#define REPORT_SLOT_MAX 110.0

static size_t report_html_chars(const char *);
static char *report_html_short(const char *);

/* Write a string with the HTML special characters escaped. */
void
report_html_esc(FILE *f, const char *s)
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

/* Write a time as UTC text. */
void
report_html_time(FILE *f, int64_t t)
{
	char buf[32];

	pkg_time_format((time_t)t, buf, sizeof buf);
	report_html_esc(f, buf);
}

/* A duration in Russian units: "12 с", "5 мин 3 с", "3 ч 10 мин", "45 сут 2 ч". */
void
report_html_duration(char *buf, size_t len, int64_t s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%" PRId64 " с", s);
	else if (s < 600 && s % 60 != 0)
		snprintf(
		    buf, len, "%" PRId64 " мин %" PRId64 " с", s / 60, s % 60);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 " мин", s / 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 " ч %" PRId64 " мин", s / 3600,
		    s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 " сут %" PRId64 " ч", s / 86400,
		    s % 86400 / 3600);
}

/* Append a bar; title (the tooltip) defaults to the label. */
void
report_html_bars_add(struct report_bars *bs, const char *label,
    const char *title, int64_t v0, int64_t v1)
{
	bs->b = xreallocarray(bs->b, bs->n + 1, sizeof *bs->b);
	bs->b[bs->n].label = xstrdup(label);
	bs->b[bs->n].title = xstrdup(title != NULL ? title : label);
	bs->b[bs->n].v[0] = v0;
	bs->b[bs->n].v[1] = v1;
	bs->n++;
}

/* Free a list of bars. */
void
report_html_bars_free(struct report_bars *bs)
{
	for (size_t i = 0; i < bs->n; i++) {
		free(bs->b[i].label);
		free(bs->b[i].title);
	}
	free(bs->b);
	bs->b = NULL;
	bs->n = 0;
}

/* The characters (not bytes) of a UTF-8 string. */
static size_t
report_html_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A label cut to REPORT_LABEL_MAX characters with an ellipsis. */
static char *
report_html_short(const char *s)
{
	size_t n = 0, i;
	char *r;

	if (report_html_chars(s) <= REPORT_LABEL_MAX)
		return xstrdup(s);
	for (i = 0; s[i] != '\0'; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 &&
		    n++ == REPORT_LABEL_MAX - 1)
			break;
	r = xmalloc(i + sizeof "…");
	memcpy(r, s, i);
	memcpy(r + i, "…", sizeof "…");
	return r;
}

/*
 * The step between the gridlines of an axis that reaches max: a whole
 * number 1, 2 or 5 times a power of ten, so that four or five steps cover
 * max. A count is never drawn as 109.5 or 0.25.
 */
int64_t
report_html_axis_step(int64_t max)
{
	int64_t mag = 1, step;

	if (max <= 4)
		return 1;
	while (mag <= INT64_MAX / 10 && mag * 10 <= max / 4)
		mag *= 10;
	for (step = mag;; step = step == mag       ? 2 * mag
	                         : step == 2 * mag ? 5 * mag
	                                           : 10 * mag) {
		if (step * 5 >= max || step == 10 * mag)
			return step;
	}
}

/*
 * Draw a bar chart as inline SVG: nser series (1 or 2) per bar, an axis of
 * whole numbers, the labels under the bars (turned when they do not fit
 * side by side, with room made for them left and below), a legend when
 * names are given, and each bar's label and value as its tooltip.
 */
void
report_html_chart(FILE *f, const struct report_bars *bs, int nser,
    const char *const *names, const char *title)
{
	static const char *const colors[] = {"#2b6cb0", "#dd8a2b"};
	const double w = 900, plot = 200, top = 34, right = 12;
	double left = 56, slot, bw, lw = 0, bottom, h, y, x0;
	int64_t max = 0, step, axis;
	size_t i, every;
	int s, turned;
	char **lab;

	lab = xcalloc(bs->n ? bs->n : 1, sizeof *lab);
	for (i = 0; i < bs->n; i++) {
		lab[i] = report_html_short(bs->b[i].label);
		if (report_html_chars(lab[i]) * REPORT_CHAR_W > lw)
			lw = (double)report_html_chars(lab[i]) * REPORT_CHAR_W;
		for (s = 0; s < nser; s++)
			if (bs->b[i].v[s] > max)
				max = bs->b[i].v[s];
	}
	step = report_html_axis_step(max);
	axis = max == 0 ? step : (max + step - 1) / step * step;
	/* at most 40 labels are written; the others are in the tooltips */
	every = bs->n > 40 ? bs->n / 40 + 1 : 1;
	slot = bs->n ? (w - left - right) / (double)bs->n : w;
	if (slot > REPORT_SLOT_MAX)
		slot = REPORT_SLOT_MAX; /* a few bars stay bars, not walls */
	turned = lw > slot * (double)every - 6;
	if (turned) {
		/* turned by 35 degrees, ending under the bar's middle */
		double need = lw * 0.82 - slot * 0.5 + 16;

		if (need > left) {
			left = need;
			slot = bs->n ? (w - left - right) / (double)bs->n : w;
			if (slot > REPORT_SLOT_MAX)
				slot = REPORT_SLOT_MAX;
		}
		bottom = lw * 0.58 + 24;
	} else
		bottom = 30;
	h = top + plot + bottom;
	fprintf(f,
	    "<svg class=\"chart\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 "
	    "%.0f %.0f\" role=\"img\">\n<title>",
	    w, h, w, h);
	report_html_esc(f, title);
	fprintf(f,
	    "</title>\n<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\""
	    " fill=\"#ffffff\"/>\n",
	    w, h);
	for (int64_t k = 0; k <= axis; k += step) {
		y = top + plot * (1 - (double)k / (double)axis);
		fprintf(f,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		    "stroke=\"#dddddd\"/>\n<text class=\"tick\" x=\"%.1f\" "
		    "y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%" PRId64
		    "</text>\n",
		    left, y, w - right, y, left - 4, y + 4, k);
	}
	bw = slot * 0.8 / nser;
	for (i = 0; i < bs->n; i++) {
		x0 = left + slot * (double)i + slot * 0.1;
		for (s = 0; s < nser; s++) {
			double bh = plot * (double)bs->b[i].v[s] / (double)axis;

			fprintf(f,
			    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			    "height=\"%.1f\" fill=\"%s\"><title>",
			    x0 + bw * s, top + plot - bh, bw, bh, colors[s]);
			report_html_esc(f, bs->b[i].title);
			if (names != NULL) {
				fputs(", ", f);
				report_html_esc(f, names[s]);
			}
			fprintf(
			    f, ": %" PRId64 "</title></rect>\n", bs->b[i].v[s]);
		}
		if (i % every != 0)
			continue;
		x0 += slot * 0.4;
		if (turned)
			fprintf(f,
			    "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" "
			    "font-size=\"11\" text-anchor=\"end\" "
			    "transform=\"rotate(-35 %.1f %.1f)\">",
			    x0, top + plot + 14, x0, top + plot + 14);
		else
			fprintf(f,
			    "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" "
			    "font-size=\"11\" text-anchor=\"middle\">",
			    x0, top + plot + 16);
		report_html_esc(f, lab[i]);
		fputs("</text>\n", f);
	}
	fprintf(f,
	    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
	    "stroke=\"#333333\"/>\n",
	    left, top + plot, w - right, top + plot);
	for (s = 0; names != NULL && s < nser; s++) {
		fprintf(f,
		    "<rect x=\"%.1f\" y=\"8\" width=\"12\" height=\"12\" "
		    "fill=\"%s\"/><text x=\"%.1f\" y=\"18\" font-size=\"12\">",
		    left + 10 + s * 220, colors[s], left + 26 + s * 220);
		report_html_esc(f, names[s]);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
	for (i = 0; i < bs->n; i++)
		free(lab[i]);
	free(lab);
}

/* Write the report to path durably (a temporary beside it, then rename). */
int
report_html_write(const char *path, const char *buf, size_t len)
{
	struct error err = {0};
	char *d, *b;
	int rc;

	if (cli_out_ok(path, "journal report") == -1)
		return -1;
	d = xstrdup(path);
	b = xstrdup(path);
	rc = fs_write_file(
	    dirname(d), basename(b), buf, len, 0644, FS_WRITE_REPLACE, &err);
	if (rc == -1)
		fprintf(stderr,
		    "posgw: journal report: cannot write %s: %s; check that "
		    "the folder exists and is writable and that there is "
		    "free space\n",
		    path, err.text);
	free(d);
	free(b);
	return rc;
}
