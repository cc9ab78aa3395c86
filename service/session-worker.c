/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The children of a session's Begin and End: unpacking a tarball (into the session or
 * into a base), copying a directory, preparing a copy-on-write session, removing a
 * session's tree and writing it back into its tarball. Each is root in a user
 * namespace with the session map (idmap.h) and chroot()s before touching a tree. */
#include "session-private.h"
#include "dircopy.h"
#include "mounts.h"
#include "package-cache.h"
#include "passwd.h"
#include "process-util.h"
#include "report.h"
#include "rmtree.h"
#include "tree-file.h"
#include "unpack.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

LoginEntries *login_entries_free(LoginEntries *l) {
        if (!l)
                return NULL;
        strv_free(l->names);
        strv_free(l->passwd_lines);
        strv_free(l->shadow_lines);
        strv_free(l->group_names);
        strv_free(l->group_lines);
        free(l);
        return NULL;
}

/* Turn a child's exit and report into an Outcome. */

/* Append line to file of the tree at rootfd unless an entry called name is there. A
 * chroot without the file is left alone. The file is opened once, as root inside
 * would resolve it (tree-file.h: a fifo or a device there must not hang or feed
 * Begin), and written through the fd it was read from. */
static int add_entry(int rootfd, const char *file, const char *name, const char *line) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = tree_file_open(rootfd, file, O_RDWR | O_APPEND);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        r = tree_file_read_fd(fd, &text);
        if (r < 0)
                return r;
        if (passwd_has_name(text, name))
                return 0;
        if (*text && text[strlen(text) - 1] != '\n' && (r = write_full(fd, "\n", 1)) < 0)
                return r;
        return write_full(fd, line, strlen(line));
}

/* The reader's failures travel in the unpack's report pipe; its exit needs only
 * reaping (and the unpack's end kills it: begin_step_done()). */
static void on_reader_exit(Operation *op, Outcome *o, void *userdata) {
        Session *s = userdata;

        s->reader = NULL;
}

/* Directory chroots are streamed as a tar archive and unpacked by the same code as
 * tarballs, so both get the same checks. The reader runs on the host with the user's
 * own credentials: it must see host ids (a namespace would show unmapped owners as
 * 65534) and read what the user can read. It reports failures itself; the unpack then
 * fails on the truncated stream. Returns the read end of the stream. */
static int start_reader(Session *s, int source_fd, const IdShift *shift, int report_fd) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        pid_t pid;
        int r;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                _cleanup_free_ char *error = NULL;
                int keep[] = { source_fd, p[1], report_fd };

                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        _exit(EXIT_FAILURE);
                reset_signals();
                if (close_all_fds_except(keep, ELEMENTSOF(keep)) < 0)
                        _exit(EXIT_FAILURE);
                if (dircopy_write_tar(source_fd, p[1], shift, &error) < 0) {
                        report_error(report_fd, CHILD_ERROR_SOURCE, -EIO, "%s", strempty(error));
                        _exit(EXIT_FAILURE);
                }
                _exit(EXIT_SUCCESS);
        }
        r = operation_watch_pid(s->manager->event, pid, -EBADF, "Reading the directory", on_reader_exit, s, &s->reader);
        if (r < 0)
                return r;
        return TAKE_FD(p[0]);
}

/* As schroot does at session start: the caller's login exists inside. Called
 * chroot()ed into the tree. */
static bool has_shadow(int rootfd) {
        _cleanup_close_ int fd = tree_file_open(rootfd, "/etc/shadow", O_RDONLY);

        return fd != -ENOENT;
}

/* One account's passwd entry (and its locked shadow entry, or without a shadow file a
 * password locked in passwd itself: trixie's buildd tarballs have no passwd package,
 * and an "x" would send PAM looking for an entry that cannot be there). */
static int add_account(int rootfd, bool shadow, const char *name, const char *passwd_line, const char *shadow_line,
                       const char **ret_file) {
        _cleanup_free_ char *locked = NULL;
        int r;

        *ret_file = "/etc/passwd";
        if (!shadow) {
                locked = strf("%s:*%s", name, passwd_line + strlen(name) + 2);
                return locked ? add_entry(rootfd, "/etc/passwd", name, locked) : -ENOMEM;
        }
        r = add_entry(rootfd, "/etc/passwd", name, passwd_line);
        /* A locked password: PAM's account check (su) needs the entry. */
        if (r >= 0)
                r = add_entry(rootfd, *ret_file = "/etc/shadow", name, shadow_line);
        return r;
}

/* As schroot does at session start: the caller's login (and the accounts asked for)
 * exist inside. Called chroot()ed into the tree. */
static int add_login(const WorkerChild *w) {
        const LoginEntries *l = w->login;
        _cleanup_close_ int rootfd = -EBADF;
        const char *file = "/etc/passwd", *who = NULL;
        char msg[256];
        bool shadow;
        int r = 0;

        if (!l)
                return EXIT_SUCCESS;
        rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot open the chroot's root: %m");
                return EXIT_FAILURE;
        }
        shadow = has_shadow(rootfd);
        for (size_t i = 0; r >= 0 && l->names && l->names[i]; i++)
                r = add_account(rootfd, shadow, who = l->names[i], l->passwd_lines[i], l->shadow_lines[i], &file);
        for (size_t i = 0; r >= 0 && l->group_names && l->group_names[i]; i++)
                r = add_entry(rootfd, file = "/etc/group", who = l->group_names[i], l->group_lines[i]);
        if (r < 0) {
                tree_file_describe_error(r, file, msg, sizeof(msg));
                report_error(w->report_fd, CHILD_ERROR_FAILED, r, "Cannot add '%s' to the chroot: %s", strempty(who), msg);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* A package-cache session's directories in the chroot's cache, made while Begin makes
 * its tree (this child has the user's ids too, and packages/ is the user's). */
static int worker_prepare_cache(const WorkerChild *w) {
        _cleanup_close_ int packagesfd = -EBADF;
        int r;

        if (!w->packages_dir)
                return 0;
        packagesfd = open(w->packages_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = packagesfd < 0 ? -errno : package_cache_prepare(packagesfd, w->cache_chroot, w->cache_id);
        if (r < 0)
                report_error(w->report_fd, CHILD_ERROR_FAILED, r, "Cannot prepare the package cache in %s/%s: %s",
                             w->packages_dir, w->cache_chroot, strerror(-r));
        return r;
}

static int open_dir_at(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* A copy-on-write session's own directories: root/ (the mount point), upper/ (with
 * the base's root mode, owned by root inside) and work/. The overlay is mounted here
 * once, in this child's mount namespace: to find out whether the kernel allows it in
 * a user namespace, and for add-login, which writes into the upper layer through it. */
int prepare_after_map(void *userdata) {
        WorkerChild *w = userdata;
        _cleanup_close_ int upperfd = -EBADF, workfd = -EBADF, mpfd = -EBADF, rootfd = -EBADF, lowerfd = -EBADF,
                            sessfd = -EBADF;
        struct stat st;
        int r;

        if (worker_prepare_cache(w) < 0)
                return EXIT_FAILURE;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot make the mounts private: %m");
                return EXIT_FAILURE;
        }
        /* Opened anew here: fds from the service point into its mount namespace. */
        lowerfd = open(w->lower_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        sessfd = open(w->session_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (lowerfd < 0 || sessfd < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot open the session's layers: %m");
                return EXIT_FAILURE;
        }
        if (fstat(lowerfd, &st) < 0 ||
            (mkdirat(sessfd, "root", 0755) < 0 && errno != EEXIST) ||
            (mkdirat(sessfd, "upper", st.st_mode & 07777) < 0 && errno != EEXIST) ||
            (mkdirat(sessfd, "work", 0700) < 0 && errno != EEXIST)) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot make the session's directories: %m");
                return EXIT_FAILURE;
        }
        if ((upperfd = open_dir_at(sessfd, "upper")) < 0 || (workfd = open_dir_at(sessfd, "work")) < 0 ||
            (mpfd = open_dir_at(sessfd, "root")) < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, upperfd < 0 ? upperfd : workfd < 0 ? workfd : mpfd,
                             "Cannot open the session's directories");
                return EXIT_FAILURE;
        }
        char msg[256] = "";
        r = mounts_overlay(lowerfd, upperfd, workfd, mpfd, &rootfd, msg, sizeof(msg));
        if (r < 0) {
                (void) unlinkat(sessfd, "root", AT_REMOVEDIR);
                (void) unlinkat(sessfd, "upper", AT_REMOVEDIR);
                (void) rm_rf_at(sessfd, "work");
                report_error(w->report_fd, CHILD_ERROR_NO_OVERLAY, r, "overlayfs in a user namespace: %s%s%s",
                             strerror(-r), msg[0] ? ": " : "", msg);
                return EXIT_FAILURE;
        }
        if (!w->login)
                return EXIT_SUCCESS;
        if (fchdir(rootfd) < 0 || chroot(".") < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot chroot into the session's tree: %m");
                return EXIT_FAILURE;
        }
        return add_login(w);
}

int unpack_after_map(void *userdata) {
        WorkerChild *w = userdata;
        _cleanup_free_ char *error = NULL;
        UnpackLimits limits = UNPACK_LIMITS_DEFAULT;
        UnpackStats stats = {};
        int rootfd, r;

        if (w->max_bytes > 0)
                limits.max_bytes = w->max_bytes;
        if (worker_prepare_cache(w) < 0)
                return EXIT_FAILURE;
        if (mkdirat(w->sessfd, "root", 0755) < 0 ||
            (rootfd = openat(w->sessfd, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot make the session's tree: %m");
                return EXIT_FAILURE;
        }
        /* Whatever the archive does, it cannot reach outside the tree. */
        if (fchdir(rootfd) < 0 || chroot(".") < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot chroot into the session's tree: %m");
                return EXIT_FAILURE;
        }
        r = unpack_archive(w->input_fd, rootfd, &limits, &stats, &error);
        if (r < 0) {
                report_error(w->report_fd,
                             r == -EPERM  ? CHILD_ERROR_UNSAFE_ARCHIVE
                             : r == -EFBIG ? CHILD_ERROR_LIMIT
                                           : CHILD_ERROR_FAILED,
                             r, "%s", error ? error : strerror(-r));
                return EXIT_FAILURE;
        }
        return add_login(w);
}

int remove_after_map(void *userdata) {
        WorkerChild *w = userdata;
        int r;

        /* What the session downloaded joins the chroot's cache; a failure there loses
         * the downloads only, never the End. */
        if (w->packages_dir) {
                _cleanup_close_ int packagesfd = open(w->packages_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                r = packagesfd < 0 ? -errno : package_cache_promote(packagesfd, w->cache_chroot, w->cache_id);
                if (r < 0 && r != -ENOENT)
                        fprintf(stderr, "chrootd: session %s: cannot add its packages to the cache of %s: %s\n",
                                w->cache_id, w->cache_chroot, strerror(-r));
        }
        if (fchdir(w->sessfd) < 0 || chroot(".") < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot chroot into the session: %m");
                return EXIT_FAILURE;
        }
        /* A copy-on-write session has upper/ and work/ too; the base is not its own. */
        r = rm_rf_at(AT_FDCWD, "root");
        if (r >= 0)
                r = rm_rf_at(AT_FDCWD, "tree"); /* a host-tree session's link (never followed) */
        if (r >= 0)
                r = rm_rf_at(AT_FDCWD, ".tree.new");
        if (r >= 0)
                r = rm_rf_at(AT_FDCWD, "leader"); /* who its last leader was */
        if (r >= 0)
                r = rm_rf_at(AT_FDCWD, ".#leader.tmp");
        if (r >= 0)
                r = rm_rf_at(AT_FDCWD, "upper");
        if (r >= 0)
                r = rm_rf_at(AT_FDCWD, "work");
        if (r < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, r, "Cannot remove the session's tree: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* A write-back session's End: the tree, as root in the namespace sees it (owners are
 * the ids inside), becomes the new tarball. */
int repack_after_map(void *userdata) {
        WorkerChild *w = userdata;
        _cleanup_free_ char *error = NULL;
        IdShift identity = { .self_uid = (uid_t) -1, .self_gid = (gid_t) -1, .count = IDMAP_COUNT };
        _cleanup_close_ int rootfd = -EBADF;
        int r;

        if (fchdir(w->sessfd) < 0 || chroot(".") < 0 ||
            (rootfd = open("/root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, -errno, "Cannot open the session's tree: %m");
                return EXIT_FAILURE;
        }
        r = dircopy_write_tar_filtered(rootfd, w->output_fd, &identity, w->filter, &error);
        if (r >= 0 && fsync(w->output_fd) < 0)
                r = -errno;
        if (r < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, r, "Cannot write the tarball back: %s",
                             error ? error : strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* Start an unpack or removal child. With dir_fd >= 0 (a directory chroot), its input
 * is a tar stream of that directory, made by a reader process. */
int start_worker(Session *s, WorkerChild *w, int dir_fd, spawn_func_t after_map, const char *what,
                 operation_done_t done, char **ret_error) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF, stream = -EBADF;
        IdMap map;
        pid_t pid;
        int r;

        r = manager_idmap(s->manager, &map, ret_error);
        if (r < 0)
                return r;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        w->report_fd = p[1];
        if (dir_fd >= 0) {
                IdShift shift = { map.self_uid, map.self_gid, map.uid_base, map.gid_base, IDMAP_COUNT };
                stream = start_reader(s, dir_fd, &shift, p[1]);
                if (stream < 0)
                        return stream;
                w->input_fd = stream;
        }

        int keep[] = { w->sessfd, p[1], w->input_fd, w->output_fd }; /* -EBADF ones are ignored */
        SpawnParams sp = {
                .map = &map,
                .map_flags = session_map_flags(s) | IDMAP_HELPER,
                .extra_flags = w->lower_path ? CLONE_NEWNS : 0,
                .keep_fds = keep,
                .n_keep_fds = ELEMENTSOF(keep),
                .after_map = after_map,
                .userdata = w,
        };

        r = userns_spawn(&sp, &pid, &pidfd, ret_error);
        if (r < 0)
                return r;
        (void) fcntl(p[0], F_SETFL, O_NONBLOCK);
        r = operation_watch(s->manager->event, pid, TAKE_FD(pidfd), TAKE_FD(p[0]), what, done, s, &s->worker);
        if (r < 0)
                s->reader = operation_free(s->reader);
        return r;
}

/* The service user's passwd, shadow and group lines, for Begin's add-login: its
 * primary group and the supplementary groups it has on the host (as schroot copies
 * the host's /etc/group), those with ids a session can hold. */
/* A group line, unless a group of that name is there already. */
static int add_group_line(char ***names, char ***lines, const struct group *gr, const char *member) {
        if (strv_contains(*names, gr->gr_name))
                return 0;
        if (strv_extend(names, gr->gr_name) < 0 ||
            strv_consume(lines, strf("%s:x:%u:%s\n", gr->gr_name, (unsigned) gr->gr_gid, strempty(member))) < 0)
                return -ENOMEM;
        return 0;
}

/* An account's passwd and shadow lines, with its host ids (which must fit a session). */
static int add_account_lines(LoginEntries *l, const struct passwd *pw) {
        if (pw->pw_uid >= IDMAP_COUNT || pw->pw_gid >= IDMAP_COUNT)
                return -ERANGE;
        if (strv_extend(&l->names, pw->pw_name) < 0 ||
            strv_consume(&l->passwd_lines,
                         strf("%s:x:%u:%u:%s:%s:%s\n", pw->pw_name, (unsigned) pw->pw_uid, (unsigned) pw->pw_gid,
                              strempty(pw->pw_gecos), strempty(pw->pw_dir), pw->pw_shell ? pw->pw_shell : "/bin/sh")) < 0 ||
            strv_consume(&l->shadow_lines, strf("%s:*:19000:0:99999:7:::\n", pw->pw_name)) < 0)
                return -ENOMEM;
        return 0;
}

int login_entries(Manager *m, char *const *accounts, LoginEntries **ret, const char **ret_missing) {
        _cleanup_(login_entries_freep) LoginEntries *l = NULL;
        struct passwd *pw = getpwuid(m->uid);
        gid_t groups[256];
        int n = ELEMENTSOF(groups), r;

        if (!pw)
                return -ESRCH;
        l = calloc(1, sizeof(LoginEntries));
        if (!l)
                return -ENOMEM;
        r = add_account_lines(l, pw);
        if (r < 0)
                return r;
        if (getgrouplist(pw->pw_name, m->gid, groups, &n) < 0)
                n = 1, groups[0] = m->gid;
        for (int i = 0; i < n; i++) {
                struct group *gr = getgrgid(groups[i]);
                if (!gr || groups[i] >= IDMAP_COUNT)
                        continue;
                r = add_group_line(&l->group_names, &l->group_lines, gr, groups[i] == m->gid ? NULL : pw->pw_name);
                if (r < 0)
                        return r;
        }
        /* The host's accounts asked for (schroot's sbuild profile copies the host's
         * passwd and group: sbuild >= 0.86 looks for its own user and group inside). */
        for (char *const *a = accounts; a && *a; a++) {
                struct passwd *apw = getpwnam(*a);
                struct group *gr;

                if (!apw) {
                        if (ret_missing)
                                *ret_missing = *a;
                        return -ESRCH;
                }
                if (strv_contains(l->names, apw->pw_name))
                        continue;
                r = add_account_lines(l, apw);
                if (r < 0)
                        return r;
                gr = getgrgid(apw->pw_gid);
                if (gr && (r = add_group_line(&l->group_names, &l->group_lines, gr, NULL)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
