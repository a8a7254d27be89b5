/*
 * outpat.h - HEAPPROF_OUT file-name patterns (%p pid, %n dump sequence
 * number, %% percent) and directory snapshots, for `run` and `dump`.
 */
#ifndef HEAPPROF_OUTPAT_H
#define HEAPPROF_OUTPAT_H

#include <sys/types.h>
#include <time.h>

/* Does the file name `name` match pattern pat (a file name, no directory)?
 * %p matches pid, or any digits when pid < 0; %n matches any digits. */
int outpat_match(const char *pat, const char *name, long pid);
/* Expands %p to pid and, when n >= 0, %n to n and %% to %.  With n < 0, %n
 * and %% stay, so the result is still a pattern.  Returns a malloc'd string
 * or NULL. */
char *outpat_expand(const char *pat, long pid, long n);
/* A pattern for files in directory dir named by pat: dir with its % signs
 * doubled, '/', pat.  Malloc'd, or NULL. */
char *outpat_join(const char *dir, const char *pat);
/* Splits pat at its last '/': *dir is the directory as a path (%p replaced
 * by pid, %% by %; "/" for the root, "." when pat has no '/'), *base the
 * file-name pattern.  Returns 0; -1 with errno EINVAL when the directory
 * part holds %n, or %p and pid < 0 (no single directory), ENOMEM.  Free
 * both with free(). */
int outpat_split(const char *pat, long pid, char **dir, char **base);
/* Whether pat uses %c (c = 'p' or 'n'). */
int outpat_has(const char *pat, char c);
/* file with `what` put before its extension (.pb.gz, .gz, .pb, ...):
 * ("app.pb.gz", ".%p") -> "app.%p.pb.gz".  Malloc'd, or NULL. */
char *outpat_insert(const char *file, const char *what);

/* The files of a directory that match a pattern, with what identifies a
 * version of each: a file renamed into place gets a new inode. */
struct snap_entry {
	char *name;
	ino_t ino;
	struct timespec mtime;
	off_t size;
};
struct snap {
	struct snap_entry *v;
	size_t n;
};
/* Lists dir's regular files matching pat (see outpat_match; with loose, any
 * name with pat's text before the first % and after the last %x).  Returns
 * 0, or -1 with errno set (the directory cannot be read). */
int snap_take(struct snap *s, const char *dir, const char *pat, long pid, int loose);
/* Whether e is in s unchanged. */
int snap_has(const struct snap *s, const struct snap_entry *e);
void snap_free(struct snap *s);

#endif
