/*
 * ctvariant: the mount and seccomp pieces of ctd-host's host variants (harness/host/ctd-host,
 * `up NAME --variant …`) that util-linux cannot do, run inside the host's private mount
 * namespace before sshd starts. Compiled on demand like ctflood.
 *
 *   view SRC DEST PATTERN…     DEST (an empty directory on a tmpfs) becomes a copy of SRC's
 *                              tree made of bind mounts of SRC's entries, except the entries whose
 *                              path relative to SRC matches a PATTERN (fnmatch): those are absent
 *                              (ENOENT), everything else is the real kernel file (reads, writes
 *                              and permissions unchanged). Directories that hold a hidden entry
 *                              are rebuilt one level down; the others are bound whole.
 *   symlink-over LINK TARGET   mounts the symlink LINK over the symlink TARGET without following
 *                              either (open_tree + move_mount): /proc/net (-> self/net) can then
 *                              point at a view for every process of the mount namespace.
 *   whiteout SRC LAYER PATTERN…
 *                              overlayfs whiteouts (character device 0/0) in LAYER for the entries
 *                              of SRC whose name matches a PATTERN: in an overlay with LAYER above
 *                              SRC they are absent. Names LAYER already holds are left alone.
 *   whiteout-except SRC LAYER PATTERN…
 *                              the same for every entry of SRC that matches no PATTERN.
 *   symlinks DIR TARGET NAME…  DIR/NAME -> TARGET for every NAME (BusyBox applet links).
 *   no-nfnetlink CMD ARG…      runs CMD under a seccomp filter (inherited by every descendant,
 *                              also across setuid exec) in which socket(AF_NETLINK, *,
 *                              NETLINK_NETFILTER) fails with EPROTONOSUPPORT: what the kernel's
 *                              netlink_create() answers when nfnetlink is not loaded and cannot
 *                              be (net/netlink/af_netlink.c). x86-64 only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
	fprintf(stderr, "ctvariant: %s%s%s: %s\n", what, path ? " " : "", path ? path : "", strerror(errno));
	exit(1);
}

static int hidden(const char *rel, char **pats, int npats)
{
	for (int i = 0; i < npats; i++)
		if (fnmatch(pats[i], rel, FNM_PATHNAME) == 0)
			return 1;
	return 0;
}

/* Does some pattern name an entry strictly below directory REL? ("stat/nf_conntrack" for "stat") */
static int holds_hidden(const char *rel, char **pats, int npats)
{
	size_t n = strlen(rel);
	for (int i = 0; i < npats; i++) {
		const char *slash = strrchr(pats[i], '/');
		if (!slash)
			continue;
		char dir[4096];
		size_t dn = (size_t)(slash - pats[i]);
		if (dn >= sizeof dir)
			continue;
		memcpy(dir, pats[i], dn);
		dir[dn] = 0;
		/* the pattern's directory part is REL or below it */
		if (fnmatch(dir, rel, FNM_PATHNAME) == 0)
			return 1;
		if (dn > n && strncmp(dir, rel, n) == 0 && dir[n] == '/')
			return 1;
	}
	return 0;
}

/* The names in DIR (without . and ..), sorted; *n gets their number. Dies on an error. */
static char **names_in(const char *dir, int *n)
{
	struct dirent **list;
	int k = scandir(dir, &list, NULL, alphasort);
	if (k < 0)
		die("scandir", dir);
	char **names = calloc((size_t)k + 1, sizeof *names);
	if (!names)
		die("calloc", NULL);
	*n = 0;
	for (int i = 0; i < k; i++) {
		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, ".."))
			names[(*n)++] = strdup(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return names;
}

static void view(const char *src, const char *dest, const char *rel, char **pats, int npats)
{
	int n;
	char **names = names_in(src, &n);
	for (int i = 0; i < n; i++) {
		char s[4096], t[4096], r[4096];
		snprintf(s, sizeof s, "%s/%s", src, names[i]);
		snprintf(t, sizeof t, "%s/%s", dest, names[i]);
		snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", names[i]);
		if (hidden(r, pats, npats))
			continue;
		struct stat st;
		if (lstat(s, &st) < 0)
			die("lstat", s);
		if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlink(s, target, sizeof target - 1);
			if (len < 0)
				die("readlink", s);
			target[len] = 0;
			if (symlink(target, t) < 0)
				die("symlink", t);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(t, st.st_mode & 07777) < 0)
				die("mkdir", t);
			if (holds_hidden(r, pats, npats)) {
				view(s, t, r, pats, npats);
				continue;
			}
		} else {
			int fd = open(t, O_CREAT | O_EXCL | O_WRONLY, 0444);
			if (fd < 0)
				die("create", t);
			close(fd);
		}
		if (mount(s, t, NULL, MS_BIND | MS_REC, NULL) < 0)
			die("bind", s);
	}
}

static int whiteouts(const char *src, const char *layer, char **pats, int npats, int except)
{
	int n;
	char **names = names_in(src, &n);
	for (int i = 0; i < n; i++) {
		int match = 0;
		for (int k = 0; k < npats && !match; k++)
			match = fnmatch(pats[k], names[i], 0) == 0;
		if (match == except)
			continue;
		char t[4096];
		snprintf(t, sizeof t, "%s/%s", layer, names[i]);
		if (mknod(t, S_IFCHR | 0000, makedev(0, 0)) < 0 && errno != EEXIST)
			die("mknod (whiteout)", t);
	}
	return 0;
}

static int symlink_over(const char *link, const char *target)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, link, OPEN_TREE_CLONE | AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		die("open_tree", link);
	if (syscall(SYS_move_mount, fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die("move_mount onto", target);
	close(fd);
	return 0;
}

static int no_nfnetlink(char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NETLINK_NETFILTER, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPROTONOSUPPORT & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	/* Root (CAP_SYS_ADMIN) may install a filter without no_new_privs, so sudo and doas keep working. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		die("seccomp", NULL);
	execvp(argv[0], argv);
	die("exec", argv[0]);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "view")) {
		view(argv[2], argv[3], "", argv + 4, argc - 4);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "symlink-over"))
		return symlink_over(argv[2], argv[3]);
	if (argc >= 4 && (!strcmp(argv[1], "whiteout") || !strcmp(argv[1], "whiteout-except")))
		return whiteouts(argv[2], argv[3], argv + 4, argc - 4, !strcmp(argv[1], "whiteout-except"));
	if (argc >= 4 && !strcmp(argv[1], "symlinks")) {
		for (int i = 4; i < argc; i++) {
			char t[4096];
			snprintf(t, sizeof t, "%s/%s", argv[2], argv[i]);
			if (symlink(argv[3], t) < 0 && errno != EEXIST)
				die("symlink", t);
		}
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "no-nfnetlink"))
		return no_nfnetlink(argv + 2);
	fprintf(stderr, "usage: ctvariant view SRC DEST PATTERN… | symlink-over LINK TARGET | whiteout[-except] SRC LAYER PATTERN…\n"
		"       | symlinks DIR TARGET NAME… | no-nfnetlink CMD ARG…\n");
	return 2;
}
