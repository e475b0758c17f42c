/*
 * filename.c: original file names made safe where they leave posgw for
 * another system's folder or message: attachments exported to the EDMS,
 * answer files sent to ПОС. One rule for every zone boundary.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filename.h"
#include "xmalloc.h"

/* Length of s cut to at most max bytes at a UTF-8 character boundary. */
static size_t
filename_utf8_cut(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/*
 * Build stem + suffix + ext into out (size len), cutting the stem so that
 * the whole fits in FILENAME_MAX_BYTES bytes.
 */
static void
filename_compose(char *out, size_t len, const char *stem, size_t stemlen,
    const char *suffix, const char *ext)
{
	size_t room = FILENAME_MAX_BYTES - strlen(suffix) - strlen(ext);
	char *tmp = xstrndup(stem, stemlen);
	size_t cut = filename_utf8_cut(tmp, room);

	snprintf(out, len, "%.*s%s%s", (int)cut, tmp, suffix, ext);
	free(tmp);
}

/* Split a name into stem and extension (".ext", at most 16 bytes, or ""). */
static const char *
filename_ext(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL || dot == name || strlen(dot) > 16)
		return name + strlen(name);
	return dot;
}

/*
 * True if s starts with a three-byte bidirectional control (U+200E, U+200F,
 * U+202A..U+202E, U+2066..U+2069), which can show "exe.pdf" as "fdp.exe".
 */
static int
filename_bidi(const unsigned char *s)
{
	if (s[0] == 0xe2 && s[1] == 0x80 &&
	    (s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xaa && s[2] <= 0xae)))
		return 1;
	return s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9;
}

/*
 * An original file name made safe to create in another system's folder or
 * send in its message: no '/', '\' or characters Windows refuses
 * (<>:"|?*), no control characters (C0, DEL, C1) or bidirectional controls,
 * no leading '.', no leading or trailing spaces and trailing dots,
 * at most FILENAME_MAX_BYTES bytes (cut at a character boundary, keeping the
 * extension); "attachment" when nothing is left. out holds len bytes.
 */
void
filename_sanitize(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	char *tmp = xmalloc(strlen(in) + 1), *start;
	const char *ext;
	size_t i, o = 0;

	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    strchr("/\\<>:\"|?*", p[i]) != NULL)
			tmp[o++] = '_';
		else if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
			tmp[o++] = '_';
			i++;
		} else if (filename_bidi(p + i)) {
			tmp[o++] = '_';
			i += 2;
		} else if (p[i] == 0xd8 && p[i + 1] == 0x9c) { /* U+061C */
			tmp[o++] = '_';
			i++;
		} else
			tmp[o++] = (char)p[i];
	}
	while (o > 0 && (tmp[o - 1] == ' ' || tmp[o - 1] == '.'))
		o--;
	tmp[o] = '\0';
	start = tmp;
	while (*start == ' ')
		start++;
	if (*start == '.')
		*start = '_';
	if (*start == '\0')
		snprintf(out, len, "attachment");
	else {
		ext = filename_ext(start);
		filename_compose(
		    out, len, start, (size_t)(ext - start), "", ext);
	}
	free(tmp);
}

/* True if name equals one of used[] (ASCII case-insensitively). */
static int
filename_used(const char *name, char **used, size_t nused)
{
	size_t i;

	for (i = 0; i < nused; i++)
		if (strcasecmp(name, used[i]) == 0)
			return 1;
	return 0;
}

/*
 * Make name (a sanitised name in a buffer of len bytes) differ from every
 * name in used[]: "Фото.jpg" becomes "Фото (2).jpg", "Фото (3).jpg", ...
 */
void
filename_unique(char *name, size_t len, char **used, size_t nused)
{
	char *orig, suffix[24];
	const char *ext;
	unsigned k;

	if (!filename_used(name, used, nused))
		return;
	orig = xstrdup(name);
	ext = filename_ext(orig);
	for (k = 2; k < 100000; k++) {
		snprintf(suffix, sizeof suffix, " (%u)", k);
		filename_compose(
		    name, len, orig, (size_t)(ext - orig), suffix, ext);
		if (!filename_used(name, used, nused))
			break;
	}
	free(orig);
}
