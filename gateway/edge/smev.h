/* smev.h: the SMEV 3 adapter's envelope, read (QueryResult) and written (ClientMessage). */
#ifndef POSGW_SMEV_H
#define POSGW_SMEV_H

#include <stddef.h>

#include <libxml/tree.h>

#include "error.h"

/* The adapter's envelope namespace (T) and XML Schema instance. */
#define SMEV_NS "urn://x-artefacts-smev-gov-ru/services/service-adapter/types"
#define SMEV_XSI_NS "http://www.w3.org/2001/XMLSchema-instance"

enum smev_type {
	SMEV_UNKNOWN = 0,
	SMEV_REQUEST, /* RequestMessageType: ПОС asks (appeal, feedback...) */
	SMEV_RESPONSE, /* ResponseMessageType: ПОС answers our request */
	SMEV_STATUS,   /* StatusMessage: the adapter on our request */
	SMEV_ERROR,    /* ErrorMessage: the adapter could not deliver it */
};

/* One QueryResult as far as it could be read; strings are owned. */
struct smev_msg {
	xmlNodePtr message; /* T:Message, or NULL */
	char *message_id;   /* smevMetadata/MessageId */
	char *type;         /* local part of Message/@xsi:type */
	enum smev_type kind;
	char *client_id; /* a request's own RequestMetadata/clientId */
};

/* What a ResponseMessageType carries. */
struct smev_answer {
	char *reply_to;     /* replyToClientId */
	xmlNodePtr content; /* first element of MessagePrimaryContent */
	xmlNodePtr rejects; /* T:rejects */
	xmlNodePtr status;  /* T:status */
};

xmlNodePtr smev_child(xmlNodePtr, const char *);
xmlNodePtr smev_find(xmlNodePtr, const char *);
xmlNodePtr smev_path(xmlNodePtr, ...);
xmlNodePtr smev_first(xmlNodePtr);
char *smev_text(xmlNodePtr);
int smev_id_ok(const char *);
int smev_relpath_ok(const char *);
int smev_read(xmlDocPtr, struct smev_msg *, struct error *);
void smev_free(struct smev_msg *);
xmlNodePtr smev_request_content(xmlNodePtr);
char *smev_attachment_path(xmlNodePtr, const char *);
int smev_answer(xmlNodePtr, struct smev_answer *);
char *smev_original(xmlNodePtr);
char *smev_code_text(xmlNodePtr, const char *);
char *smev_salvage(const char *, size_t);
xmlDocPtr smev_client_message(const char *, xmlNodePtr *, xmlNsPtr *);
xmlNodePtr smev_request_add(
    xmlNodePtr, xmlNsPtr, const char *, int, xmlNodePtr *);
void smev_attachment_add(xmlNodePtr, xmlNsPtr, xmlNodePtr *, const char *,
    const char *, const char *);
xmlNodePtr smev_response_add(xmlNodePtr, xmlNsPtr, const char *, const char *,
    const char *, const char *);

#endif
