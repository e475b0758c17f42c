/* fsutil.c: durable file writes (tmp + fsync + rename + fsync(dir)). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "xmalloc.h"

/* Why errno e, when it is the file system's state: "" or "; ..." to append. */
const char *
fs_why(int e)
{
	if (e == ENOSPC || e == EDQUOT)
		return "; its file system is full: free space or inodes (df "
		       "-h, "
		       "df -i)";
	if (e == EROFS)
		return "; its file system is mounted read-only";
	return "";
}

/*
 * What to do after errno e on a file: hint, unless the file system is full
 * or read-only, which no check of the folder would show.
 */
const char *
fs_hint(int e, const char *hint)
{
	if (e == ENOSPC || e == EDQUOT)
		return "its file system is full: free space or inodes (df -h, "
		       "df -i)";
	if (e == EROFS)
		return "its file system is mounted read-only";
	return hint;
}

/* fsync a directory so that a rename or create in it is durable. */
int
fs_fsync_dir(const char *dir, struct error *err)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(err, ERR_NONE, "cannot open directory %s: %s",
		    dir, strerror(errno));
	if (fsync(fd) == -1 && errno != EINVAL) {
		err_set(err, ERR_NONE, "cannot fsync directory %s: %s", dir,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Flush the whole file system holding dir: one call makes many new files
 * durable at once (a batch), where one fsync each would flush the device
 * once per file.
 */
int
fs_syncfs(const char *dir, struct error *err)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(err, ERR_NONE, "cannot open directory %s: %s",
		    dir, strerror(errno));
	if (syncfs(fd) == -1) {
		err_set(err, ERR_NONE, "cannot sync the file system of %s: %s",
		    dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* fsync one file by name. */
int
fs_fsync_file(const char *path, struct error *err)
{
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fsync(fd) == -1)
		rc = err_set(err, ERR_NONE, "cannot fsync %s: %s", path,
		    strerror(errno));
	if (fd != -1)
		close(fd);
	return rc;
}

/* Note a file that must be made durable before the batch commits. */
void
fs_syncset_add(struct fs_syncset *ss, const char *path)
{
	if (ss->many)
		return;
	if (ss->n == FS_SYNCSET_MAX) {
		fs_syncset_clear(ss);
		ss->many = 1;
		return;
	}
	ss->path[ss->n++] = xstrdup(path);
}

/*
 * Make the noted files durable, and their names in dir: fsync each and
 * the directory, or one syncfs of dir's file system for many. Clears the
 * set either way.
 */
int
fs_syncset_sync(struct fs_syncset *ss, const char *dir, struct error *err)
{
	size_t i;
	int rc = 0;

	if (ss->many)
		rc = fs_syncfs(dir, err);
	else if (ss->n > 0) {
		for (i = 0; i < ss->n && rc == 0; i++)
			rc = fs_fsync_file(ss->path[i], err);
		if (rc == 0)
			rc = fs_fsync_dir(dir, err);
	}
	fs_syncset_clear(ss);
	return rc;
}

/* Forget the noted files. */
void
fs_syncset_clear(struct fs_syncset *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		free(ss->path[i]);
	ss->n = 0;
	ss->many = 0;
}

/* Write all bytes, retrying short writes and EINTR. */
int
fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Give an open file the group of its folder and mode's group bits, for an
 * account of that group to read; say on which file it failed and why.
 */
static int
fs_share_or_say(
    int fd, const char *dir, const char *path, mode_t mode, struct error *err)
{
	struct stat ds;

	if (fs_share_group(fd, dir, mode) == 0)
		return 0;
	if (errno == EPERM && stat(dir, &ds) == 0)
		return err_set(err, ERR_NONE,
		    "cannot give %s the group of %s (gid %lu): this account "
		    "is not a member of it; run as a member of the folder's "
		    "group",
		    path, dir, (unsigned long)ds.st_gid);
	return err_set(err, ERR_NONE, "cannot give %s the group of %s: %s",
	    path, dir, strerror(errno));
}

/*
 * Write dir/name durably through dir/.name: create (refusing to replace an
 * existing file unless FS_WRITE_REPLACE), fsync, rename, fsync the
 * directory. FS_WRITE_SHARE gives it the folder's group (fs_share_group).
 */
int
fs_write_file(const char *dir, const char *name, const void *buf, size_t len,
    int mode, int flags, struct error *err)
{
	char *tmp, *dst;
	int fd, saved;

	xasprintf(&tmp, "%s/.%s", dir, name);
	xasprintf(&dst, "%s/%s", dir, name);
	if (!(flags & FS_WRITE_REPLACE) && access(dst, F_OK) == 0) {
		err_set(err, ERR_NONE, "%s already exists; move it away first",
		    dst);
		goto fail;
	}
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s%s", tmp,
		    strerror(errno), fs_why(errno));
		goto fail;
	}
	if (fchmod(fd, (mode_t)mode) == -1 ||
	    fs_write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		err_set(err, ERR_NONE, "cannot write %s: %s%s", tmp,
		    strerror(saved), fs_why(saved));
		goto fail;
	}
	if ((flags & FS_WRITE_SHARE) &&
	    fs_share_or_say(fd, dir, dst, (mode_t)mode, err) == -1) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, dst) == -1) {
		saved = errno;
		unlink(tmp);
		err_set(err, ERR_NONE, "cannot rename %s to %s: %s", tmp, dst,
		    strerror(saved));
		goto fail;
	}
	free(tmp);
	free(dst);
	return fs_fsync_dir(dir, err);
fail:
	free(tmp);
	free(dst);
	return -1;
}

/* Remove a directory tree we own; symlinks are removed, never followed. */
int
fs_rmtree(const char *path)
{
	struct dirent *de;
	struct stat sb;
	char *sub;
	DIR *d;
	int rc = 0;

	if (lstat(path, &sb) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(sb.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&sub, "%s/%s", path, de->d_name);
		if (fs_rmtree(sub) == -1)
			rc = -1;
		free(sub);
	}
	closedir(d);
	if (rmdir(path) == -1)
		rc = -1;
	return rc;
}

/* Create a directory and its parents, each one made with exactly mode. */
int
fs_mkdir_p(const char *path, int mode)
{
	char buf[PATH_MAX], *p;
	int end;

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		end = *p == '\0';
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) == 0) {
			/* exactly mode, whatever the umask: a folder made
			 * 0750 under umask 0027 would lock out its readers */
			if (chmod(buf, (mode_t)mode) == -1)
				return -1;
		} else if (errno != EEXIST)
			return -1;
		if (end)
			return 0;
		*p = '/';
	}
}

/*
 * Copy src to dir/name through dir/.name.tmp, at most max bytes (ERR_SIZE
 * beyond). Flags: FS_COPY_SYNC fsyncs the file and the directory,
 * FS_COPY_NOREPLACE refuses an existing dir/name, FS_COPY_SHARE gives it
 * the folder's group and mode's group bits. src must be a regular
 * file and is never followed as a symbolic link.
 */
int
fs_copy_file(const char *src, const char *dir, const char *name, int mode,
    uint64_t max, int flags, struct error *err)
{
	unsigned char buf[1 << 16];
	char *tmp, *dst;
	uint64_t total = 0;
	struct stat sb;
	int in, out = -1, saved;
	ssize_t n;

	xasprintf(&tmp, "%s/.%s.tmp", dir, name);
	xasprintf(&dst, "%s/%s", dir, name);
	if ((flags & FS_COPY_NOREPLACE) && access(dst, F_OK) == 0) {
		err_set(err, ERR_NONE, "%s already exists; move it away first",
		    dst);
		goto fail;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		err_set(
		    err, ERR_NONE, "cannot open %s: %s", src, strerror(errno));
		goto fail;
	}
	if (fstat(in, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		err_set(err, ERR_NONE, "%s is not a regular file", src);
		goto fail_in;
	}
	out = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (out == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s%s", tmp,
		    strerror(errno), fs_why(errno));
		goto fail_in;
	}
	if ((flags & FS_COPY_SHARE) &&
	    fs_share_or_say(out, dir, dst, (mode_t)mode, err) == -1)
		goto fail_out;
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(err, ERR_NONE, "cannot read %s: %s", src,
			    strerror(errno));
			goto fail_out;
		}
		total += (uint64_t)n;
		if (total > max) {
			err_set(err, ERR_SIZE, "%s has more than %llu bytes",
			    src, (unsigned long long)max);
			goto fail_out;
		}
		if (fs_write_all(out, buf, (size_t)n) == -1) {
			err_set(err, ERR_NONE, "cannot write %s: %s%s", tmp,
			    strerror(errno), fs_why(errno));
			goto fail_out;
		}
	}
	if (((flags & FS_COPY_SYNC) && fsync(out) == -1) || close(out) == -1) {
		saved = errno;
		out = -1;
		err_set(err, ERR_NONE, "cannot write %s: %s%s", tmp,
		    strerror(saved), fs_why(saved));
		goto fail_out;
	}
	out = -1;
	if (rename(tmp, dst) == -1) {
		err_set(err, ERR_NONE, "cannot rename %s to %s: %s", tmp, dst,
		    strerror(errno));
		goto fail_out;
	}
	close(in);
	free(tmp);
	free(dst);
	return (flags & FS_COPY_SYNC) ? fs_fsync_dir(dir, err) : 0;
fail_out:
	if (out != -1)
		close(out);
	unlink(tmp);
fail_in:
	close(in);
fail:
	free(tmp);
	free(dst);
	return -1;
}

/* A file's modification time in nanoseconds since the epoch. */
int64_t
fs_mtime_ns(const struct stat *sb)
{
	return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

/* A file's status change time in nanoseconds since the epoch. */
int64_t
fs_ctime_ns(const struct stat *sb)
{
	return (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec;
}

/* Order names byte-wise (qsort). */
static int
fs_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Whether name ends in ".xml" (ASCII case ignored) and is a dot file
 * exactly when hidden is set.
 */
static int
fs_xml_name_ok(const char *name, int hidden)
{
	size_t len = strlen(name);

	return (name[0] == '.') == (hidden != 0) && len >= (hidden ? 6u : 5u) &&
	       strcasecmp(name + len - 4, ".xml") == 0;
}

/* The next entry of d, or NULL at the end or on an error (errno set). */
static struct dirent *
fs_readdir(DIR *d)
{
	errno = 0;
	return readdir(d);
}

/*
 * Close d after fs_readdir returned NULL: -1 with errno if that was an
 * error (a folder read only in part must not look complete).
 */
static int
fs_readdir_end(DIR *d)
{
	int saved = errno;

	closedir(d);
	if (saved == 0)
		return 0;
	errno = saved;
	return -1;
}

/*
 * The names in dir that end in ".xml" (ASCII case ignored), in byte order:
 * only those without a leading dot (a dot file is work in progress), or
 * with hidden only those with one. Returns -1 with errno if dir cannot be
 * read. Free with fs_names_free.
 */
int
fs_xml_names(const char *dir, int hidden, char ***names, size_t *n)
{
	struct dirent *de;
	DIR *d;

	*names = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = fs_readdir(d)) != NULL) {
		if (!fs_xml_name_ok(de->d_name, hidden))
			continue;
		*names = xreallocarray(*names, *n + 1, sizeof **names);
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	if (fs_readdir_end(d) == -1) {
		fs_names_free(*names, *n);
		*names = NULL;
		*n = 0;
		return -1;
	}
	if (*n > 1)
		qsort(*names, *n, sizeof **names, fs_name_cmp);
	return 0;
}

/* Sift the name at k down the max-heap h of n names. */
static void
fs_heap_down(char **h, size_t n, size_t k)
{
	size_t c;
	char *t;

	for (; (c = 2 * k + 1) < n; k = c) {
		if (c + 1 < n && strcmp(h[c + 1], h[c]) > 0)
			c++;
		if (strcmp(h[c], h[k]) <= 0)
			break;
		t = h[c];
		h[c] = h[k];
		h[k] = t;
	}
}

/*
 * As fs_xml_names, but only the first max names in byte order (max > 0):
 * memory O(max) and time O(files log max) however many files dir holds.
 * *total is how many names there were (more than *n if some were left).
 */
int
fs_xml_names_first(const char *dir, int hidden, size_t max, char ***names,
    size_t *n, size_t *total)
{
	struct dirent *de;
	size_t k;
	char **h, *t;
	DIR *d;

	*names = NULL;
	*n = 0;
	*total = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	h = xreallocarray(NULL, max, sizeof *h);
	while ((de = fs_readdir(d)) != NULL) {
		if (!fs_xml_name_ok(de->d_name, hidden))
			continue;
		(*total)++;
		if (*n < max) {
			/* sift up */
			h[k = (*n)++] = xstrdup(de->d_name);
			for (; k > 0 && strcmp(h[(k - 1) / 2], h[k]) < 0;
			     k = (k - 1) / 2) {
				t = h[k];
				h[k] = h[(k - 1) / 2];
				h[(k - 1) / 2] = t;
			}
			continue;
		}
		if (strcmp(de->d_name, h[0]) >= 0)
			continue;
		free(h[0]);
		h[0] = xstrdup(de->d_name);
		fs_heap_down(h, *n, 0);
	}
	if (fs_readdir_end(d) == -1) {
		fs_names_free(h, *n);
		*n = *total = 0;
		return -1;
	}
	if (*n > 1)
		qsort(h, *n, sizeof *h, fs_name_cmp);
	if (*n == 0) {
		free(h);
		h = NULL;
	}
	*names = h;
	return 0;
}

/* Free a list of names. */
void
fs_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Give a file in dir (open as fd) what another account of dir's group
 * needs: dir's group (what a setgid folder gives new files, and a hard
 * link does not carry) and at least the group bits of mode. Only the
 * file's owner may: -1 with errno if that is not possible.
 */
int
fs_share_group(int fd, const char *dir, mode_t mode)
{
	struct stat ds, fs;

	if (stat(dir, &ds) == -1 || fstat(fd, &fs) == -1)
		return -1;
	if (fs.st_gid != ds.st_gid && fchown(fd, (uid_t)-1, ds.st_gid) == -1)
		return -1;
	if ((fs.st_mode & mode & 0070) != (mode & 0070) &&
	    fchmod(fd, (fs.st_mode & 07777) | (mode & 0070)) == -1)
		return -1;
	return 0;
}
