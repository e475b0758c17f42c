/* fsutil.h: durable file writes (tmp + fsync + rename + fsync(dir)). */
#ifndef POSGW_FSUTIL_H
#define POSGW_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"

const char *fs_why(int);
const char *fs_hint(int, const char *);
int fs_fsync_dir(const char *, struct error *);
int fs_syncfs(const char *, struct error *);
int fs_fsync_file(const char *, struct error *);

/*
 * Files written without fsync that must be durable before a commit: up
 * to FS_SYNCSET_MAX are fsynced one by one (a trickle does not flush the
 * whole file system), a flood takes one syncfs.
 */
#define FS_SYNCSET_MAX 8
struct fs_syncset {
	char *path[FS_SYNCSET_MAX];
	size_t n;
	int many; /* more than FS_SYNCSET_MAX: syncfs */
};
void fs_syncset_add(struct fs_syncset *, const char *);
int fs_syncset_sync(struct fs_syncset *, const char *, struct error *);
void fs_syncset_clear(struct fs_syncset *);
#define FS_WRITE_REPLACE 0x1 /* replace an existing file */
#define FS_WRITE_SHARE 0x2   /* give it the folder's group */
int fs_write_file(
    const char *, const char *, const void *, size_t, int, int, struct error *);
int fs_write_all(int, const void *, size_t);
int fs_rmtree(const char *);
int fs_mkdir_p(const char *, int);
int64_t fs_mtime_ns(const struct stat *);
int fs_share_group(int, const char *, mode_t);
int fs_xml_names(const char *, int, char ***, size_t *);
int fs_xml_names_first(const char *, int, size_t, char ***, size_t *, size_t *);
void fs_names_free(char **, size_t);
int64_t fs_ctime_ns(const struct stat *);

#define FS_COPY_SYNC 0x1      /* fsync the file and the directory */
#define FS_COPY_NOREPLACE 0x2 /* refuse an existing target */
#define FS_COPY_SHARE 0x4     /* give it the folder's group */
int fs_copy_file(const char *, const char *, const char *, int, uint64_t, int,
    struct error *);

#endif
