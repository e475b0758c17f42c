/* posmap.h: the one replaceable mapping between ПОС content and posgw documents. */
#ifndef POSGW_POSMAP_H
#define POSGW_POSMAP_H

#endif
