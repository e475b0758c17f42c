/*
 * sim-xml.c: posgw-sim's strict reading of the edge's XML (documents come
 * from xmlsafe_parse_file): one child of a name, no unexpected children,
 * trimmed leaf values, and the lexical forms of the model's values.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "sim.h"
#include "xmlsafe.h"

/* The qualified name of an element for messages: "T:name" or "P:name". */
const char *
sim_xml_qname(xmlNodePtr n, char *buf, size_t len)
{
	const char *ns = n->ns ? (const char *)n->ns->href : "";

	snprintf(buf, len, "%s%s",
	    strcmp(ns, SIM_NS_T) == 0   ? "T:"
	    : strcmp(ns, SIM_NS_P) == 0 ? "P:"
	    : *ns == '\0'               ? "(no namespace) "
	                                : "(foreign namespace) ",
	    (const char *)n->name);
	return buf;
}

/*
 * Find the only element child ns:name of parent; *out is NULL if absent.
 * Returns -1 (err set) if it is absent but required, or repeated.
 */
int
sim_xml_child(xmlNodePtr parent, const char *ns, const char *name, int required,
    xmlNodePtr *out, struct error *err)
{
	char q[128];
	xmlNodePtr c;

	*out = NULL;
	for (c = parent->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, ns, name))
			continue;
		if (*out != NULL)
			return err_set(err, ERR_NONE,
			    "%s holds more than one %s",
			    sim_xml_qname(parent, q, sizeof q), name);
		*out = c;
	}
	if (*out == NULL && required)
		return err_set(err, ERR_NONE, "%s has no %s%s",
		    sim_xml_qname(parent, q, sizeof q),
		    strcmp(ns, SIM_NS_P) == 0 ? "P:" : "T:", name);
	return 0;
}

/* Fail on an element child of parent not named in names (all in ns), or stray text. */
int
sim_xml_only(xmlNodePtr parent, const char *ns, const char *const *names,
    struct error *err)
{
	char q[128], q2[128];
	const xmlChar *p;
	xmlNodePtr c;
	size_t i;

	for (c = parent->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE) {
			for (p = c->content; p != NULL && *p != '\0'; p++)
				if (strchr(" \t\r\n", *p) == NULL)
					return err_set(err, ERR_NONE,
					    "%s holds stray text",
					    sim_xml_qname(parent, q, sizeof q));
			continue;
		}
		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (i = 0; names[i] != NULL; i++)
			if (xmlsafe_is(c, ns, names[i]))
				break;
		if (names[i] == NULL)
			return err_set(err, ERR_NONE, "%s may not hold %s",
			    sim_xml_qname(parent, q, sizeof q),
			    sim_xml_qname(c, q2, sizeof q2));
	}
	return 0;
}

/* The trimmed text of a leaf element into buf; -1 if it has elements or is too long. */
int
sim_xml_value(xmlNodePtr n, char *buf, size_t len, struct error *err)
{
	char q[128];
	xmlNodePtr c;
	xmlChar *v;
	size_t a, b;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return err_set(err, ERR_NONE,
			    "%s must hold text, not elements",
			    sim_xml_qname(n, q, sizeof q));
	if ((v = xmlNodeGetContent(n)) == NULL)
		v = xmlStrdup((const xmlChar *)"");
	a = strspn((const char *)v, " \t\r\n");
	b = strlen((const char *)v);
	while (b > a && strchr(" \t\r\n", v[b - 1]) != NULL)
		b--;
	if (b - a >= len) {
		xmlFree(v);
		return err_set(err, ERR_NONE, "%s is too long (%zu bytes)",
		    sim_xml_qname(n, q, sizeof q), b - a);
	}
	memcpy(buf, v + a, b - a);
	buf[b - a] = '\0';
	xmlFree(v);
	return 0;
}

/* The value of the required leaf child ns:name of parent into buf. */
int
sim_xml_leaf(xmlNodePtr parent, const char *ns, const char *name, char *buf,
    size_t len, struct error *err)
{
	xmlNodePtr c;

	if (sim_xml_child(parent, ns, name, 1, &c, err) == -1)
		return -1;
	return sim_xml_value(c, buf, len, err);
}

/* True if an element holds some non-blank text (Comment, Answer/Text...). */
int
sim_xml_has_text(xmlNodePtr n)
{
	xmlNodePtr c;
	xmlChar *v;
	int yes;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return 0;
	if ((v = xmlNodeGetContent(n)) == NULL)
		return 0;
	yes = v[strspn((const char *)v, " \t\r\n")] != '\0';
	xmlFree(v);
	return yes;
}

/* The only element inside parent (MessagePrimaryContent). */
int
sim_xml_sole(xmlNodePtr parent, xmlNodePtr *out, struct error *err)
{
	xmlNodePtr c;
	int n = 0;

	*out = NULL;
	for (c = parent->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			*out = c;
			n++;
		}
	if (n != 1)
		return err_set(err, ERR_NONE,
		    "T:MessagePrimaryContent holds %d elements, exactly one "
		    "is required",
		    n);
	return 0;
}

/* Digits only, 1..max of them. */
int
sim_xml_digits(const char *s, size_t max)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= max && s[n] == '\0';
}

/* YYYY-MM-DD with a plausible month and day. */
int
sim_xml_date(const char *s)
{
	int y, m, d;
	char end;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    strspn(s, "0123456789-") != 10 ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3)
		return 0;
	return y >= 1000 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* YYYY-MM-DDThh:mm:ssZ. */
int
sim_xml_timestamp(const char *s)
{
	char date[11];
	int h, mi, se;

	if (strlen(s) != 20 || s[10] != 'T' || s[19] != 'Z' || s[13] != ':' ||
	    s[16] != ':')
		return 0;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!sim_xml_date(date) || strspn(s + 11, "0123456789:") != 8 ||
	    sscanf(s + 11, "%2d:%2d:%2d", &h, &mi, &se) != 3)
		return 0;
	return h < 24 && mi < 60 && se < 61;
}

/* A required attribute, or -1 naming it. */
const char *
sim_xml_attr(xmlNodePtr n, const char *name, struct error *err)
{
	const char *v = xmlsafe_attr(n, name);
	char q[128];

	if (v == NULL)
		err_set(err, ERR_NONE, "%s has no %s attribute",
		    sim_xml_qname(n, q, sizeof q), name);
	return v;
}
