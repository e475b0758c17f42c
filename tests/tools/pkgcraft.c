/*
 * pkgcraft.c: write tar streams with arbitrary entries, for hostile-input
 * tests. Not installed. Each SPEC adds one entry, in order:
 *   file:PATH=LOCAL      regular file with LOCAL's bytes
 *   zeros:PATH=N         regular file of N zero bytes (streamed)
 *   dir:PATH  fifo:PATH  chardev:PATH  blockdev:PATH
 *   symlink:PATH=TARGET  hardlink:PATH=TARGET
 * Options: --filter none|gzip|zstd (default zstd), --format pax|ustar|gnu.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

/* Exit with a message. */
static void
die(const char *what, struct archive *a)
{
	fprintf(stderr, "pkgcraft: %s: %s\n", what,
	    a && archive_error_string(a) ? archive_error_string(a)
	                                 : strerror(errno));
	exit(1);
}

/* Write len bytes from buf. */
static void
put(struct archive *a, const void *buf, size_t len)
{
	la_ssize_t n;

	while (len > 0) {
		if ((n = archive_write_data(a, buf, len)) <= 0)
			die("write data", a);
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
}

/* Add one entry described by spec. */
static void
add(struct archive *a, const char *spec)
{
	static char zero[1 << 20];
	struct archive_entry *ae = archive_entry_new();
	char *copy = strdup(spec), *path, *val = NULL, *kind = copy, *eq;
	char buf[65536];
	long long n, left;
	struct stat sb;
	ssize_t r;
	int fd = -1;

	if ((path = strchr(copy, ':')) == NULL)
		die("spec needs KIND:PATH", NULL);
	*path++ = '\0';
	if ((eq = strchr(path, '=')) != NULL) {
		*eq = '\0';
		val = eq + 1;
	}
	archive_entry_set_pathname(ae, path);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_mtime(ae, 1764000000, 0);
	if (strcmp(kind, "file") == 0) {
		if (val == NULL || (fd = open(val, O_RDONLY)) == -1 ||
		    fstat(fd, &sb) == -1)
			die(val ? val : "file needs =LOCAL", NULL);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, sb.st_size);
	} else if (strcmp(kind, "zeros") == 0) {
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, val ? atoll(val) : 0);
	} else if (strcmp(kind, "dir") == 0) {
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, 0755);
	} else if (strcmp(kind, "fifo") == 0) {
		archive_entry_set_filetype(ae, AE_IFIFO);
	} else if (strcmp(kind, "chardev") == 0) {
		archive_entry_set_filetype(ae, AE_IFCHR);
		archive_entry_set_rdev(ae, makedev(1, 3));
	} else if (strcmp(kind, "blockdev") == 0) {
		archive_entry_set_filetype(ae, AE_IFBLK);
		archive_entry_set_rdev(ae, makedev(7, 0));
	} else if (strcmp(kind, "symlink") == 0) {
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, val ? val : "/etc/passwd");
	} else if (strcmp(kind, "hardlink") == 0) {
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_hardlink(ae, val ? val : "manifest.xml");
	} else
		die("unknown entry kind", NULL);
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		die(path, a);
	if (fd != -1) {
		while ((r = read(fd, buf, sizeof buf)) > 0)
			put(a, buf, (size_t)r);
		close(fd);
	} else if (strcmp(kind, "zeros") == 0) {
		for (left = val ? atoll(val) : 0; left > 0; left -= n) {
			n = left > (long long)sizeof zero
			        ? (long long)sizeof zero
			        : left;
			put(a, zero, (size_t)n);
		}
	}
	archive_entry_free(ae);
	free(copy);
}

int
main(int argc, char **argv)
{
	const char *filter = "zstd", *format = "pax";
	struct archive *a;
	int i = 1;

	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
			filter = argv[i + 1];
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			format = argv[i + 1];
		else
			break;
		i += 2;
	}
	if (argc - i < 1) {
		fprintf(stderr,
		    "usage: pkgcraft [--filter F] [--format F] OUT SPEC...\n");
		return 2;
	}
	a = archive_write_new();
	if (strcmp(format, "ustar") == 0)
		archive_write_set_format_ustar(a);
	else if (strcmp(format, "gnu") == 0)
		archive_write_set_format_gnutar(a);
	else
		archive_write_set_format_pax_restricted(a);
	if (strcmp(filter, "zstd") == 0) {
		archive_write_add_filter_zstd(a);
		archive_write_set_filter_option(
		    a, "zstd", "compression-level", "1");
	} else if (strcmp(filter, "gzip") == 0)
		archive_write_add_filter_gzip(a);
	if (archive_write_open_filename(a, argv[i]) != ARCHIVE_OK)
		die(argv[i], a);
	for (i++; i < argc; i++)
		add(a, argv[i]);
	if (archive_write_close(a) != ARCHIVE_OK)
		die("close", a);
	archive_write_free(a);
	return 0;
}
