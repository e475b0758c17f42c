/* edms.h: placeholder until the core role lands. */
#ifndef POSGW_EDMS_H
#define POSGW_EDMS_H
#endif
