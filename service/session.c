/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "session.h"
#include "base.h"
#include "mounts.h"
#include "dircopy.h"
#include "report.h"
#include "passwd.h"
#include "rmtree.h"
#include "session-dbus.h"
#include "userns.h"
#include "unpack.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

void outcome_done(Outcome *o) {
        free(o->error_message);
        *o = (Outcome) {};
}

/* Begin's add-login: the user's entries, added to the tree's files. */
struct LoginEntries {
        char *name;
        char *passwd_line;
        char *shadow_line;
        char **group_names; /* primary group first, then supplementary ones */
        char **group_lines;
};

static LoginEntries *login_entries_free(LoginEntries *l) {
        if (!l)
                return NULL;
        free(l->name);
        free(l->passwd_line);
        free(l->shadow_line);
        strv_free(l->group_names);
        strv_free(l->group_lines);
        free(l);
        return NULL;
}

/* Begin's steps. BEGIN_UNPACK: a full private copy into root/. Copy-on-write:
 * BEGIN_BASE unpacks the tarball into bases/.new-<id> when no base of it is cached,
 * then BEGIN_PREPARE makes the session's upper/ over the base. */
enum {
        BEGIN_UNPACK,
        BEGIN_BASE,
        BEGIN_PREPARE,
};

static int begin_start_unpack(Session *s, char **ret_error);

/* A copy-on-write session's lower layer: its base's tree, or its directory chroot. */
static char *session_lower_path(Session *s) {
        if (s->rec.lower)
                return strdup(s->rec.lower);
        return s->rec.base ? strf("%s/%s/root", s->manager->paths.bases_dir, s->rec.base) : NULL;
}

bool session_is_overlay(const Session *s) {
        return s->rec.base || s->rec.lower;
}
static int begin_start_prepare(Session *s, char **ret_error);
static int begin_finish_base(Session *s);
static void session_arm_holder_timer(Session *s);

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static Session *session_new(Manager *m, SessionRecord *rec) {
        _cleanup_free_ Session *s = calloc(1, sizeof(Session));
        int r;

        if (!s)
                return NULL;
        s->manager = m;
        s->worker_report_fd = -EBADF;
        s->progress_fd = -EBADF;
        s->source_fd = -EBADF;
        s->holder = HOLDER_NULL;
        s->dir = strf("%s/%s", m->paths.sessions_dir, rec->id);
        s->tree = strf("%s/%s/root", m->paths.sessions_dir, rec->id);
        r = sd_bus_path_encode("/org/chrootd1/session", rec->id, &s->object_path);
        if (r >= 0)
                r = session_slice_name(rec->id, &s->slice);
        if (!s->dir || !s->tree || r < 0) {
                free(s->dir);
                free(s->tree);
                free(s->object_path);
                free(s->slice);
                return NULL;
        }
        s->rec = *rec;
        *rec = (SessionRecord) {};
        s->next = m->sessions;
        m->sessions = s;
        return TAKE_PTR(s);
}

/* Freeing the child's watch kills the command's init, and with it the command's
 * whole pid namespace, and reaps it. */
static Run *run_free(Run *run) {
        if (!run)
                return NULL;
        sd_event_source_unref(run->timer);
        sd_event_source_unref(run->source);
        idmap_job_done(&run->maps);
        spawned_child_done(&run->child);
        systemd_job_cancel(run->job);
        safe_close(run->report_fd);
        sd_bus_message_unref(run->message);
        outcome_done(&run->failure);
        free(run->unit);
        strv_free(run->argv);
        free(run);
        return NULL;
}

static void run_freep(Run **run) {
        run_free(*run);
}

Session *session_free(Session *s) {
        Manager *m;

        if (!s)
                return NULL;
        m = s->manager;
        for (Session **i = &m->sessions; *i; i = &(*i)->next)
                if (*i == s) {
                        *i = s->next;
                        break;
                }
        while (s->runs) {
                Run *r = s->runs;
                s->runs = r->next;
                run_free(r);
        }
        systemd_job_cancel(s->stop_job);
        systemd_job_cancel(s->limits_job);
        sd_bus_message_unref(s->set_limits_message);
        free(s->repack_temp);
        free(s->slice);
        sd_event_source_unref(s->worker_source);
        sd_event_source_unref(s->reader_source);
        safe_close(s->worker_report_fd);
        safe_close(s->progress_fd);
        safe_close(s->source_fd);
        sd_event_source_unref(s->holder_timer);
        holder_stop(&s->holder);
        login_entries_free(s->login);
        sd_bus_message_unref(s->begin_message);
        for (size_t i = 0; i < s->n_end_messages; i++)
                sd_bus_message_unref(s->end_messages[i]);
        free(s->end_messages);
        outcome_done(&s->begin_failure);
        session_record_done(&s->rec);
        free(s->object_path);
        free(s->dir);
        free(s->tree);
        free(s);
        return NULL;
}

static void session_set_state(Session *s, SessionState state) {
        int r;

        s->rec.state = state;
        r = store_write(s->manager->sessions_dirfd, &s->rec);
        if (r < 0)
                log_warning("Failed to write the state of session '%s': %s", s->rec.id, strerror(-r));
        session_emit_state_changed(s);
}

/* Turn a child's exit and report into an Outcome. */
static void outcome_from_child(const siginfo_t *si, int report_fd, const char *what, Outcome *ret) {
        Report rep = {};
        Outcome o = {};

        (void) report_read(report_fd, &rep);
        if (rep.have_error) {
                o.error_name = child_error_to_bus_name(rep.error_kind);
                o.error_message = strdup(rep.message);
        } else if (si->si_code != CLD_EXITED || si->si_status != 0) {
                o.error_name = CHROOTD_ERROR_FAILED;
                o.error_message = si->si_code == CLD_EXITED
                                          ? strf("%s failed with exit status %d", what, si->si_status)
                                          : strf("%s was killed by signal %s", what, strsignal(si->si_status));
        }
        *ret = o;
}

/* ---- helper children: unpack and removal, root in the namespace with the user's
 * own ids mapped too, so they can reach sessions/<id> (which belongs to the user). */

typedef struct WorkerChild {
        int sessfd;
        int input_fd;  /* the archive to unpack, or -EBADF */
        int output_fd; /* the tarball to write back into, or -EBADF */
        int filter;    /* its compression */
        int lowerfd;   /* a copy-on-write session's base tree (O_PATH), or -EBADF */
        /* ... and the paths of its base tree and session directory: overlayfs wants
         * layers opened in the child's own mount namespace. */
        const char *lower_path;
        const char *session_dir;
        int report_fd;
        const LoginEntries *login; /* or NULL */
} WorkerChild;

/* Append line to file (inside the chroot) unless an entry called name is there. A
 * chroot without the file is left alone. */
static int add_entry(const char *file, const char *name, const char *line) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = read_file_at(AT_FDCWD, file, 16 << 20, &text);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (passwd_has_name(text, name))
                return 0;
        fd = open(file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (*text && text[strlen(text) - 1] != '\n' && (r = write_full(fd, "\n", 1)) < 0)
                return r;
        return write_full(fd, line, strlen(line));
}

/* The reader's failures travel in the report pipe; its exit needs only reaping. */
static int on_reader_exit(sd_event_source *source, const siginfo_t *si, void *userdata) {
        return 0;
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
        r = sd_event_add_child(s->manager->event, &s->reader_source, pid, WEXITED, on_reader_exit, NULL);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        (void) sd_event_source_set_child_process_own(s->reader_source, true);
        return TAKE_FD(p[0]);
}

/* As schroot does at session start: the caller's login exists inside. Called
 * chroot()ed into the tree, so its symlinks cannot lead out. */
static int add_login(const WorkerChild *w) {
        const LoginEntries *l = w->login;
        int r;

        if (!l)
                return EXIT_SUCCESS;
        r = add_entry("/etc/passwd", l->name, l->passwd_line);
        /* A locked password: PAM's account check (su) needs the entry. */
        if (r >= 0)
                r = add_entry("/etc/shadow", l->name, l->shadow_line);
        for (size_t i = 0; r >= 0 && l->group_names && l->group_names[i]; i++)
                r = add_entry("/etc/group", l->group_names[i], l->group_lines[i]);
        if (r < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, r, "Cannot add user '%s' to the chroot: %s", l->name,
                             strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

static int open_dir_at(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* A copy-on-write session's own directories: root/ (the mount point), upper/ (with
 * the base's root mode, owned by root inside) and work/. The overlay is mounted here
 * once, in this child's mount namespace: to find out whether the kernel allows it in
 * a user namespace, and for add-login, which writes into the upper layer through it. */
static int prepare_after_map(void *userdata) {
        WorkerChild *w = userdata;
        _cleanup_close_ int upperfd = -EBADF, workfd = -EBADF, mpfd = -EBADF, rootfd = -EBADF, lowerfd = -EBADF,
                            sessfd = -EBADF;
        struct stat st;
        int r;

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

static int unpack_after_map(void *userdata) {
        WorkerChild *w = userdata;
        _cleanup_free_ char *error = NULL;
        UnpackLimits limits = UNPACK_LIMITS_DEFAULT;
        UnpackStats stats = {};
        int rootfd, r;

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
                report_error(w->report_fd, r == -EPERM ? CHILD_ERROR_UNSAFE_ARCHIVE : CHILD_ERROR_FAILED, r,
                             "%s", error ? error : strerror(-r));
                return EXIT_FAILURE;
        }
        return add_login(w);
}

static int remove_after_map(void *userdata) {
        WorkerChild *w = userdata;
        int r;

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
                r = rm_rf_at(AT_FDCWD, "upper");
        if (r >= 0)
                r = rm_rf_at(AT_FDCWD, "work");
        if (r < 0) {
                report_error(w->report_fd, CHILD_ERROR_FAILED, r, "Cannot remove the session's tree: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

static int on_worker_exit(sd_event_source *source, const siginfo_t *si, void *userdata);
static void session_continue_end(Session *s);

/* A write-back session's End: the tree, as root in the namespace sees it (owners are
 * the ids inside), becomes the new tarball. */
static int repack_after_map(void *userdata) {
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
static int start_worker(Session *s, WorkerChild *w, int dir_fd, spawn_func_t after_map, char **ret_error) {
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

        int keep[] = { w->sessfd, p[1], w->input_fd, w->output_fd, w->lowerfd }; /* -EBADF ones are ignored */
        SpawnParams sp = {
                .map = &map,
                .map_self = true,
                .extra_flags = w->lowerfd >= 0 ? CLONE_NEWNS : 0,
                .keep_fds = keep,
                .n_keep_fds = ELEMENTSOF(keep),
                .after_map = after_map,
                .userdata = w,
        };

        r = userns_spawn(&sp, &pid, &pidfd, ret_error);
        if (r < 0)
                return r;
        r = sd_event_add_child_pidfd(s->manager->event, &s->worker_source, pidfd, WEXITED, on_worker_exit, s);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        (void) sd_event_source_set_child_pidfd_own(s->worker_source, true);
        (void) sd_event_source_set_child_process_own(s->worker_source, true);
        TAKE_FD(pidfd);
        (void) fcntl(p[0], F_SETFL, O_NONBLOCK);
        s->worker_report_fd = TAKE_FD(p[0]);
        s->worker_pid = pid;
        return 0;
}

static int session_start_removal(Session *s) {
        _cleanup_close_ int sessfd = -EBADF;
        _cleanup_free_ char *error = NULL;
        WorkerChild w = { .input_fd = -EBADF, .output_fd = -EBADF, .lowerfd = -EBADF };
        int r;

        sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sessfd < 0)
                return -errno;
        w.sessfd = sessfd;
        r = start_worker(s, &w, -EBADF, remove_after_map, &error);
        if (r < 0)
                log_error("Failed to start removing session '%s': %s", s->rec.id, error ? error : strerror(-r));
        return r;
}

/* Write the tree back into its tarball: into a temporary file beside it (so the rename
 * is atomic and the file is the user's), renamed over the tarball when complete. */
static int session_start_repack(Session *s) {
        _cleanup_close_ int sessfd = -EBADF, out = -EBADF;
        _cleanup_free_ char *error = NULL, *dir = NULL, *tmp = NULL;
        const char *base;
        struct stat st;
        int r, filter;

        filter = dircopy_filter_for_name(s->rec.source);
        if (filter < 0)
                return filter;
        base = strrchr(s->rec.source, '/');
        if (!base || stat(s->rec.source, &st) < 0)
                return -ENOENT;
        dir = strndup(s->rec.source, (size_t) (base - s->rec.source));
        tmp = dir ? strf("%s/.#%s.XXXXXX", dir, base + 1) : NULL;
        if (!tmp)
                return -ENOMEM;
        out = mkostemp(tmp, O_CLOEXEC);
        if (out < 0)
                return -errno;
        (void) fchmod(out, st.st_mode & 07777);
        sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sessfd < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        WorkerChild w = { .sessfd = sessfd, .input_fd = -EBADF, .output_fd = out, .filter = filter,
                           .lowerfd = -EBADF };
        r = start_worker(s, &w, -EBADF, repack_after_map, &error);
        if (r < 0) {
                log_error("Failed to start writing session '%s' back: %s", s->rec.id, error ? error : strerror(-r));
                (void) unlink(tmp);
                return r;
        }
        s->repack_temp = TAKE_PTR(tmp);
        return 0;
}

/* The repack is over: on success the new tarball replaces the old one and End goes
 * on; on failure End fails and the session stays, tree and all. */
static void session_finish_repack(Session *s, Outcome *o) {
        _cleanup_free_ char *tmp = TAKE_PTR(s->repack_temp);

        if (!o->error_name && rename(tmp, s->rec.source) < 0) {
                o->error_name = CHROOTD_ERROR_FAILED;
                o->error_message = strf("Cannot replace '%s': %m", s->rec.source);
        }
        if (!o->error_name) {
                s->repacked = true;
                session_continue_end(s);
                return;
        }
        (void) unlink(tmp);
        log_error("Failed to write session '%s' back to %s: %s", s->rec.id, s->rec.source, strempty(o->error_message));
        for (size_t i = 0; i < s->n_end_messages; i++) {
                session_reply_end(s, s->end_messages[i], o);
                sd_bus_message_unref(s->end_messages[i]);
        }
        s->n_end_messages = 0;
        s->slice_stopped = false;
        session_set_state(s, SESSION_READY);
}

/* The session is gone from disk: answer everyone who waited and forget it. */
static void session_finish_removal(Session *s, const Outcome *removal) {
        Outcome ok = {};
        int r;

        if (!removal->error_name) {
                r = store_remove(s->manager->sessions_dirfd, s->rec.id);
                if (r < 0)
                        log_warning("Failed to remove the state of session '%s': %s", s->rec.id, strerror(-r));
        } else
                log_error("Failed to remove session '%s': %s", s->rec.id, strempty(removal->error_message));

        if (s->begin_message)
                session_reply_begin(s, s->begin_failure.error_name ? &s->begin_failure : removal);
        for (size_t i = 0; i < s->n_end_messages; i++)
                session_reply_end(s, s->end_messages[i], removal->error_name ? removal : &ok);

        if (removal->error_name) {
                /* Keep it listed as ending: the next End or start retries. */
                s->worker_pid = 0;
                s->begin_message = sd_bus_message_unref(s->begin_message);
                for (size_t i = 0; i < s->n_end_messages; i++)
                        sd_bus_message_unref(s->end_messages[i]);
                s->n_end_messages = 0;
                return;
        }
        Manager *m = s->manager;
        bool had_base = s->rec.base;
        session_emit_removed(s);
        session_free(s);
        /* The last session of a base whose tarball has changed since takes it along. */
        if (had_base)
                (void) manager_collect_bases(m, false, NULL);
}

static void on_slice_stopped(int r, const char *message, void *userdata) {
        Session *s = userdata;

        s->stop_job = NULL;
        if (r < 0 && r != -EOPNOTSUPP)
                log_warning("Failed to stop %s: %s", s->slice, strempty(message));
        s->slice_stopped = true;
        session_continue_end(s);
}

/* End, once nothing runs any more: stop the session's slice (so no unit of it stays
 * behind, and anything a crash left in it dies), then remove the tree. */
static void session_continue_end(Session *s) {
        int r;
        Outcome o = {};

        if (s->rec.state != SESSION_ENDING || s->worker_source || s->n_runs > 0 || s->stop_job)
                return;
        if (!s->slice_stopped) {
                r = systemd_stop_unit(s->manager->systemd, s->slice, on_slice_stopped, s, &s->stop_job);
                if (r >= 0)
                        return;
                if (r != -EOPNOTSUPP)
                        log_warning("Failed to stop %s: %s", s->slice, strerror(-r));
                s->slice_stopped = true;
        }
        if (s->rec.write_back && !s->repacked && !s->begin_failure.error_name) {
                r = session_start_repack(s);
                if (r >= 0)
                        return;
                o.error_name = CHROOTD_ERROR_FAILED;
                o.error_message = strf("Cannot write the session back to %s: %s", s->rec.source, strerror(-r));
                session_finish_repack(s, &o);
                outcome_done(&o);
                return;
        }
        /* Its commands are gone: so goes the overlay they shared. */
        holder_stop(&s->holder);
        r = session_start_removal(s);
        if (r < 0) {
                o.error_name = CHROOTD_ERROR_FAILED;
                o.error_message = strf("Cannot remove the session: %s", strerror(-r));
                session_finish_removal(s, &o);
                outcome_done(&o);
        }
}

/* Begin is over: the session is ready, or whatever it made is removed before the
 * caller hears why it failed. o is the outcome of the last step. */
static void session_finish_begin(Session *s, Outcome *o) {
        s->source_fd = safe_close(s->source_fd);
        s->login = login_entries_free(s->login);
        if (!o->error_name && !s->begin_failure.error_name) {
                session_set_state(s, SESSION_READY);
                session_reply_begin(s, o);
                s->begin_message = sd_bus_message_unref(s->begin_message);
                return;
        }
        if (!s->begin_failure.error_name) {
                log_warning("Begin of session '%s' failed: %s", s->rec.id, strempty(o->error_message));
                s->begin_failure = *o;
                *o = (Outcome) {};
        }
        session_set_state(s, SESSION_ENDING);
        session_continue_end(s);
}

static void on_begin_limits(int r, const char *message, void *userdata) {
        Session *s = userdata;
        Outcome o = {};

        s->limits_job = NULL;
        if (r == -EOPNOTSUPP) {
                o.error_name = CHROOTD_ERROR_NOT_SUPPORTED;
                o.error_message = strdup("Limits need a systemd user manager, and there is none on the bus");
        } else if (r < 0) {
                o.error_name = CHROOTD_ERROR_FAILED;
                o.error_message = strf("systemd did not set the limits on %s: %s", s->slice, strempty(message));
        }
        session_finish_begin(s, &o);
        outcome_done(&o);
}

/* Put the session's limits on its slice; done is called when that is in effect. */
static void session_apply_limits(Session *s, systemd_job_done_t done) {
        int r;

        s->limits_job = systemd_job_cancel(s->limits_job);
        r = systemd_set_slice_limits(s->manager->systemd, s->slice, &s->rec.limits, done, s, &s->limits_job);
        if (r < 0)
                done(r, strerror(-r), s);
}

/* A failed Begin's half-made base goes (if it is still there). */
static void begin_drop_new_base(Session *s) {
        _cleanup_free_ char *name = strf(".new-%s", s->rec.id);
        struct stat st;

        if (name && fstatat(s->manager->bases_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
            manager_retire_base(s->manager, name) < 0)
                log_warning("Cannot remove the unfinished base of session '%s'", s->rec.id);
}

/* After a step of a Begin that went well: start the next one, if there is one. On
 * failure, *o says why. Returns whether a step was started. */
static bool begin_next_step(Session *s, Outcome *o) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (s->begin_phase == BEGIN_BASE) {
                r = begin_finish_base(s);
                if (r >= 0)
                        r = begin_start_prepare(s, &error);
                if (r >= 0)
                        return true;
                o->error_name = CHROOTD_ERROR_FAILED;
                o->error_message = strf("Cannot set up the session's base: %s", error ? error : strerror(-r));
                begin_drop_new_base(s);
                return false;
        }
        return false;
}

/* The kernel refused overlayfs in a user namespace: say so once and make this and
 * every later session a full copy. */
static bool begin_fall_back(Session *s, Outcome *o) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (s->begin_phase != BEGIN_PREPARE || !streq_ptr(o->error_name, CHROOTD_ERROR_NOT_SUPPORTED))
                return false;
        log_warning("The kernel does not allow %s; sessions are full copies from now on", strempty(o->error_message));
        s->manager->overlay_refused = true;
        free(s->rec.base);
        s->rec.base = NULL;
        free(s->rec.lower);
        s->rec.lower = NULL;
        r = store_write(s->manager->sessions_dirfd, &s->rec);
        if (r >= 0 && lseek(s->source_fd, 0, SEEK_SET) < 0)
                r = -errno;
        if (r >= 0)
                r = begin_start_unpack(s, &error);
        outcome_done(o);
        if (r >= 0) {
                s->progress_fd = fcntl(s->source_fd, F_DUPFD_CLOEXEC, 3);
                return true;
        }
        o->error_name = CHROOTD_ERROR_FAILED;
        o->error_message = strf("Cannot start unpacking: %s", error ? error : strerror(-r));
        return false;
}

static int on_worker_exit(sd_event_source *source, const siginfo_t *si, void *userdata) {
        Session *s = userdata;
        Outcome o = {};

        outcome_from_child(si, s->worker_report_fd, s->rec.state == SESSION_PREPARING ? "Unpacking" : "Removal", &o);
        s->worker_source = sd_event_source_unref(s->worker_source);
        /* Kills a reader still blocked on a stream that the unpack abandoned. */
        s->reader_source = sd_event_source_unref(s->reader_source);
        s->worker_report_fd = safe_close(s->worker_report_fd);
        s->progress_fd = safe_close(s->progress_fd);
        s->worker_pid = 0;

        if (s->rec.state == SESSION_PREPARING && s->begin_phase == BEGIN_BASE && o.error_name)
                begin_drop_new_base(s);
        if (s->rec.state == SESSION_PREPARING && begin_fall_back(s, &o))
                ;
        else if (s->rec.state == SESSION_PREPARING) {
                if (!o.error_name && !s->begin_failure.error_name && begin_next_step(s, &o))
                        ; /* another child is on its way */
                else if (!o.error_name && !s->begin_failure.error_name && limits_any(&s->rec.limits))
                        session_apply_limits(s, on_begin_limits);
                else
                        session_finish_begin(s, &o);
        } else if (s->repack_temp)
                session_finish_repack(s, &o);
        else
                session_finish_removal(s, &o);

        outcome_done(&o);
        return 0;
}

/* The service user's passwd, shadow and group lines, for Begin's add-login: its
 * primary group and the supplementary groups it has on the host (as schroot copies
 * the host's /etc/group), those with ids a session can hold. */
static int login_entries(Manager *m, LoginEntries **ret) {
        _cleanup_strv_free_ char **names = NULL, **lines = NULL;
        LoginEntries *l;
        struct passwd *pw = getpwuid(m->uid);
        gid_t groups[256];
        int n = ELEMENTSOF(groups);

        if (!pw)
                return -ESRCH;
        if (m->uid >= IDMAP_COUNT || m->gid >= IDMAP_COUNT)
                return -ERANGE;
        if (getgrouplist(pw->pw_name, m->gid, groups, &n) < 0)
                n = 1, groups[0] = m->gid;
        for (int i = 0; i < n; i++) {
                struct group *gr = getgrgid(groups[i]);
                if (!gr || groups[i] >= IDMAP_COUNT || strv_contains(names, gr->gr_name))
                        continue;
                if (strv_extend(&names, gr->gr_name) < 0 ||
                    strv_consume(&lines, groups[i] == m->gid ? strf("%s:x:%u:\n", gr->gr_name, (unsigned) groups[i])
                                                             : strf("%s:x:%u:%s\n", gr->gr_name,
                                                                    (unsigned) groups[i], pw->pw_name)) < 0)
                        return -ENOMEM;
        }
        l = calloc(1, sizeof(LoginEntries));
        if (!l)
                return -ENOMEM;
        l->name = strdup(pw->pw_name);
        l->passwd_line = strf("%s:x:%u:%u:%s:%s:%s\n", pw->pw_name, (unsigned) m->uid, (unsigned) m->gid,
                              strempty(pw->pw_gecos), strempty(pw->pw_dir), pw->pw_shell ? pw->pw_shell : "/bin/sh");
        l->shadow_line = strf("%s:*:19000:0:99999:7:::\n", pw->pw_name);
        l->group_names = TAKE_PTR(names);
        l->group_lines = TAKE_PTR(lines);
        if (!l->name || !l->passwd_line || !l->shadow_line) {
                login_entries_free(l);
                return -ENOMEM;
        }
        *ret = l;
        return 0;
}


/* Whether this Begin makes a copy-on-write session: tarballs only (a directory chroot
 * is copied: its host owners are translated), not when End writes back, not when the
 * caller or the chroot's union-type says none, not once the kernel refused. */
static bool begin_overlay(Manager *m, const Chroot *chroot, const BeginFlags *flags) {
        const char *u = flags->union_type ? flags->union_type : chroot->union_type;

        return !flags->write_back && !streq_ptr(u, "none") && !m->overlay_refused;
}

/* A directory chroot is its own lower layer when its top belongs to root of the
 * session's user namespace (the first subordinate ids: made by mmdebstrap --mode=unshare
 * or unpacked in a user namespace), so that its owners are right inside as they are.
 * Any other directory is copied, its host owners translated (dircopy.h). */
static bool directory_is_layer(const IdMap *map, const struct stat *st) {
        return st->st_uid == map->uid_base && st->st_gid == map->gid_base;
}

static int begin_start_unpack(Session *s, char **ret_error) {
        _cleanup_close_ int sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        bool dir = streq(s->rec.chroot_type, "directory");

        if (sessfd < 0)
                return -errno;
        WorkerChild w = {
                .sessfd = sessfd,
                .input_fd = dir ? -EBADF : s->source_fd,
                .output_fd = -EBADF,
                .lowerfd = -EBADF,
                .login = s->login,
        };
        s->begin_phase = BEGIN_UNPACK;
        return start_worker(s, &w, dir ? s->source_fd : -EBADF, unpack_after_map, ret_error);
}

static int begin_start_base(Session *s, char **ret_error) {
        _cleanup_free_ char *name = strf(".new-%s", s->rec.id);
        _cleanup_close_ int basefd = -EBADF;
        Manager *m = s->manager;

        if (!name)
                return -ENOMEM;
        (void) rm_rf_at(m->bases_dirfd, name); /* an empty one from a crash: ours */
        if (mkdirat(m->bases_dirfd, name, 0700) < 0)
                return -errno;
        basefd = openat(m->bases_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (basefd < 0)
                return -errno;
        /* The base is the tarball alone: add-login goes into the session's upper/. */
        WorkerChild w = { .sessfd = basefd, .input_fd = s->source_fd, .output_fd = -EBADF, .lowerfd = -EBADF };
        s->begin_phase = BEGIN_BASE;
        return start_worker(s, &w, -EBADF, unpack_after_map, ret_error);
}

static int begin_start_prepare(Session *s, char **ret_error) {
        _cleanup_close_ int sessfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *lower_path = session_lower_path(s);
        _cleanup_close_ int lowerfd = -EBADF;

        if (sessfd < 0)
                return -errno;
        if (!lower_path)
                return -ENOMEM;
        lowerfd = open(lower_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (lowerfd < 0)
                return -errno;
        WorkerChild w = { .sessfd = sessfd, .input_fd = -EBADF, .output_fd = -EBADF, .lowerfd = lowerfd,
                          .login = s->login, .lower_path = lower_path, .session_dir = s->dir };
        s->begin_phase = BEGIN_PREPARE;
        return start_worker(s, &w, -EBADF, prepare_after_map, ret_error);
}

/* The base is unpacked: give it its name, or drop it if another Begin was quicker. */
static int begin_finish_base(Session *s) {
        _cleanup_free_ char *name = strf(".new-%s", s->rec.id), *text = NULL;
        _cleanup_close_ int basefd = -EBADF;
        Manager *m = s->manager;
        struct stat st;
        int r;

        if (!name)
                return -ENOMEM;
        if (fstat(s->source_fd, &st) < 0)
                return -errno;
        text = base_source_text(s->rec.source, &st);
        if (!text)
                return -ENOMEM;
        basefd = openat(m->bases_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (basefd < 0)
                return -errno;
        r = write_file_atomic_at(basefd, "source", text, 0600);
        if (r < 0)
                return r;
        if (renameat(m->bases_dirfd, name, m->bases_dirfd, s->rec.base) >= 0)
                return 0;
        if (errno != EEXIST && errno != ENOTEMPTY)
                return -errno;
        if (!manager_base_ready(m, s->rec.base, s->rec.source, &st))
                return -EEXIST;
        return manager_retire_base(m, name);
}

int session_begin(Manager *m, const Chroot *chroot, const char *id, const Limits *limits, const BeginFlags *flags,
                  sd_bus_message *message,
                  Session **ret, const char **ret_error_name, char **ret_error_message) {
        _cleanup_close_ int source_fd = -EBADF, sessfd = -EBADF;
        _cleanup_free_ char *error = NULL;
        LoginEntries *login = NULL;
        SessionRecord rec = {};
        char key[BASE_KEY_LEN + 1];
        bool overlay;
        struct stat st;
        IdMap map;
        Session *s;
        int r;

        r = manager_idmap(m, &map, ret_error_message);
        if (r < 0) {
                *ret_error_name = CHROOTD_ERROR_NO_SUBORDINATE_IDS;
                return r;
        }

        if (flags->write_back && (chroot->type != CHROOT_FILE || dircopy_filter_for_name(chroot->path) < 0)) {
                *ret_error_name = CHROOTD_ERROR_NOT_SUPPORTED;
                *ret_error_message = strf("Chroot '%s' is not a tarball that can be written back", chroot->name);
                return -EOPNOTSUPP;
        }
        source_fd = open(chroot->path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
                                               (chroot->type == CHROOT_DIRECTORY ? O_DIRECTORY : 0));
        if (source_fd < 0 || fstat(source_fd, &st) < 0) {
                *ret_error_name = CHROOTD_ERROR_SOURCE_UNAVAILABLE;
                *ret_error_message = strf("Cannot open %s '%s' of chroot '%s': %m",
                                          chroot->type == CHROOT_DIRECTORY ? "directory" : "tarball",
                                          chroot->path, chroot->name);
                return -errno;
        }
        if (chroot->type == CHROOT_FILE && !S_ISREG(st.st_mode)) {
                *ret_error_name = CHROOTD_ERROR_SOURCE_UNAVAILABLE;
                *ret_error_message = strf("Tarball '%s' of chroot '%s' is not a regular file", chroot->path, chroot->name);
                return -EINVAL;
        }
        overlay = begin_overlay(m, chroot, flags) &&
                  (chroot->type == CHROOT_FILE || directory_is_layer(&map, &st));
        if (overlay && chroot->type == CHROOT_FILE && base_key(chroot->path, &st, key) < 0) {
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strdup("Out of memory");
                return -ENOMEM;
        }
        if (flags->add_login) {
                r = login_entries(m, &login);
                if (r < 0) {
                        *ret_error_name = CHROOTD_ERROR_NOT_SUPPORTED;
                        *ret_error_message = r == -ERANGE
                                ? strf("uid %u or gid %u cannot exist inside a session (ids 0..%u)",
                                       (unsigned) m->uid, (unsigned) m->gid, IDMAP_COUNT - 1)
                                : strf("Cannot look up user %u on the host", (unsigned) m->uid);
                        return r;
                }
        }

        sessfd = store_create(m->sessions_dirfd, id);
        if (sessfd < 0) {
                login_entries_free(login);
                *ret_error_name = sessfd == -EEXIST ? CHROOTD_ERROR_SESSION_EXISTS : CHROOTD_ERROR_FAILED;
                *ret_error_message = sessfd == -EEXIST ? strf("Session '%s' already exists", id)
                                                       : strf("Cannot make session directory: %s", strerror(-sessfd));
                return sessfd;
        }

        rec.id = strdup(id);
        rec.chroot = strdup(chroot->name);
        rec.chroot_type = strdup(chroot_type_to_string(chroot->type));
        rec.source = strdup(chroot->path);
        rec.state = SESSION_PREPARING;
        rec.created_usec = now_usec();
        rec.limits = *limits;
        rec.write_back = flags->write_back;
        rec.base = overlay && chroot->type == CHROOT_FILE ? strdup(key) : NULL;
        rec.lower = overlay && chroot->type == CHROOT_DIRECTORY ? strdup(chroot->path) : NULL;
        rec.host_tree = flags->host_tree;
        s = rec.id && rec.chroot && rec.chroot_type && rec.source && (rec.base || rec.lower || !overlay)
                    ? session_new(m, &rec)
                    : NULL;
        session_record_done(&rec);
        if (!s) {
                login_entries_free(login);
                (void) store_remove(m->sessions_dirfd, id);
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strdup("Out of memory");
                return -ENOMEM;
        }
        s->login = login;
        s->source_fd = TAKE_FD(source_fd);
        r = store_write(m->sessions_dirfd, &s->rec);
        if (r >= 0) {
                if (!overlay)
                        r = begin_start_unpack(s, &error);
                else if (s->rec.lower || manager_base_ready(m, key, chroot->path, &st))
                        r = begin_start_prepare(s, &error);
                else
                        r = begin_start_base(s, &error);
        }
        if (r < 0) {
                (void) store_remove(m->sessions_dirfd, id);
                session_free(s);
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strf("Cannot start unpacking: %s", error ? error : strerror(-r));
                return r;
        }
        if (chroot->type == CHROOT_FILE && s->begin_phase != BEGIN_PREPARE) {
                s->progress_fd = fcntl(s->source_fd, F_DUPFD_CLOEXEC, 3);
                s->progress_size = (uint64_t) st.st_size;
        }
        s->begin_message = sd_bus_message_ref(message);
        session_emit_new(s);
        *ret = s;
        return 0;
}

static void on_loaded_limits(int r, const char *message, void *userdata) {
        Session *s = userdata;

        s->limits_job = NULL;
        if (r < 0)
                log_warning("Failed to set the limits of session '%s' on %s: %s", s->rec.id, s->slice,
                            r == -EOPNOTSUPP ? "no systemd user manager" : strempty(message));
}

int session_load(Manager *m, const char *id) {
        SessionRecord rec = {};
        Session *s;
        int r;

        r = store_read(m->sessions_dirfd, id, &rec);
        if (r < 0) {
                /* A directory without a valid state is what a crash between mkdir and
                 * the first state write leaves: remove it. */
                log_warning("Session '%s' has no valid state (%s): removing it", id, strerror(-r));
                rec = (SessionRecord) { .id = strdup(id), .chroot = strdup(""), .chroot_type = strdup(""),
                                        .source = strdup(""), .state = SESSION_ENDING };
                if (!rec.id || !rec.chroot || !rec.chroot_type || !rec.source) {
                        session_record_done(&rec);
                        return -ENOMEM;
                }
        }
        s = session_new(m, &rec);
        session_record_done(&rec);
        if (!s)
                return -ENOMEM;
        if (s->rec.state == SESSION_READY && limits_any(&s->rec.limits))
                /* After a reboot the transient slice is gone: make it again. */
                session_apply_limits(s, on_loaded_limits);
        if (s->rec.state != SESSION_READY) {
                if (s->rec.state == SESSION_PREPARING)
                        log_warning("Session '%s' was interrupted while being made: removing it", id);
                s->rec.state = SESSION_ENDING;
                session_continue_end(s);
        }
        return 0;
}

static int on_run_exit(sd_event_source *source, const siginfo_t *si, void *userdata) {
        Run *run = userdata;
        Session *s = run->session;
        Report rep = {};
        Outcome o = {};

        (void) report_read(run->report_fd, &rep);
        /* Where a Run's time goes (docs/performance.md): --debug shows it. */
        uint64_t t_exit = mono_usec();
        log_debug("Run %d in '%s': clone %.2f ms, scope %.2f ms, then maps done %.2f ms, then to exit %.2f ms",
                  (int) run->child.pid, s->rec.id, (run->t_cloned - run->t_request) / 1000.0,
                  run->t_scope ? (run->t_scope - run->t_cloned) / 1000.0 : 0.0,
                  run->t_released ? (run->t_released - (run->t_scope ? run->t_scope : run->t_cloned)) / 1000.0 : 0.0,
                  run->t_released ? (t_exit - run->t_released) / 1000.0 : 0.0);
        if (run->timed_out) {
                o.timed_out = true;
                o.value = SIGKILL;
        } else if (rep.have_error) {
                o.error_name = child_error_to_bus_name(rep.error_kind);
                o.error_message = strdup(rep.message);
        } else if (run->failure.error_name) {
                o = run->failure;
                run->failure = (Outcome) {};
        } else if (rep.have_status) {
                o.killed = !WIFEXITED(rep.wstatus);
                o.value = WIFEXITED(rep.wstatus) ? WEXITSTATUS(rep.wstatus) : WTERMSIG(rep.wstatus);
        } else if (s->rec.state == SESSION_ENDING) {
                o.error_name = CHROOTD_ERROR_SESSION_ENDED;
                o.error_message = strf("Session '%s' was ended while the command ran", s->rec.id);
        } else if (si->si_code == CLD_KILLED && run->released) {
                /* Kill(SIGKILL), systemd or the OOM killer: SIGKILL to the init takes the
                 * command down with it, before the init can report a status. */
                o.killed = true;
                o.value = si->si_status;
        } else {
                o.error_name = CHROOTD_ERROR_FAILED;
                o.error_message = si->si_code == CLD_EXITED
                                          ? strf("The command's init failed with status %d", si->si_status)
                                          : strf("The command's init was killed by signal %s", strsignal(si->si_status));
        }
        session_reply_run(run, &o);
        outcome_done(&o);

        for (Run **i = &s->runs; *i; i = &(*i)->next)
                if (*i == run) {
                        *i = run->next;
                        break;
                }
        s->n_runs--;
        run_free(run);
        session_arm_holder_timer(s);

        session_continue_end(s);
        return 0;
}

/* Kill a command that has not run yet; on_run_exit replies with why. */
static void run_fail(Run *run, char *message) {
        if (!run->failure.error_name) {
                run->failure.error_name = CHROOTD_ERROR_FAILED;
                run->failure.error_message = message;
        } else
                free(message);
        (void) kill(run->child.pid, SIGKILL);
}

/* Write the maps and let the command's init go on. */
static void run_release(Run *run) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = userns_go(&run->child, idmap_apply_finish(&run->maps, &error));
        run->released = r >= 0;
        run->t_released = mono_usec();
        if (r < 0)
                run_fail(run, strf("Cannot start the command: %s", error ? error : strerror(-r)));
}

static void on_run_scope(int r, const char *message, void *userdata) {
        Run *run = userdata;

        run->job = NULL;
        run->t_scope = mono_usec();
        if (r == -EOPNOTSUPP) {
                free(run->unit);
                run->unit = NULL;
        } else if (r < 0) {
                run_fail(run, strf("systemd did not make a scope for the command: %s", strempty(message)));
                return;
        }
        run_release(run);
}

static int on_run_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        Run *run = userdata;

        /* SIGKILL to the init takes down its whole pid namespace. */
        run->timed_out = true;
        (void) kill(run->child.pid, SIGKILL);
        return 0;
}

/* "chrootd session ID: ARGV..." for the scope's Description, cut at about 200 bytes. */
static char *run_description(const Session *s, char **argv) {
        char buf[256];
        size_t n;

        n = (size_t) snprintf(buf, sizeof(buf), "chrootd session %s:", s->rec.id);
        for (char **a = argv; *a && n < 200; a++)
                n += (size_t) snprintf(buf + n, sizeof(buf) - n, " %s", *a);
        if (n >= 200)
                strcpy(buf + 196, "...");
        return strdup(buf);
}

/* An idle session keeps no process: its overlay holder goes a few seconds after the
 * last command (commands in quick succession, as sbuild runs them, share one). */
#define HOLDER_IDLE_USEC (5 * 1000 * 1000)

static int on_holder_idle(sd_event_source *source, uint64_t usec, void *userdata) {
        Session *s = userdata;

        s->holder_timer = sd_event_source_unref(s->holder_timer);
        if (s->n_runs == 0)
                holder_stop(&s->holder);
        return 0;
}

static void session_arm_holder_timer(Session *s) {
        s->holder_timer = sd_event_source_unref(s->holder_timer);
        /* A host-tree session's holder stays: its view is the session's RootDirectory. */
        if (s->n_runs > 0 || s->holder.pid <= 0 || s->rec.host_tree)
                return;
        if (sd_event_add_time_relative(s->manager->event, &s->holder_timer, CLOCK_MONOTONIC, HOLDER_IDLE_USEC, 0,
                                       on_holder_idle, s) < 0)
                holder_stop(&s->holder);
}

/* A host-tree session's RootDirectory is sessions/<id>/tree, a symlink to its holder's
 * view of the overlay, /proc/<holder>/root/.../root: the path stays the same when the
 * holder is replaced (after a restart of the service, the next command or property
 * read makes a new one and the link follows). Replaced atomically. */
static int session_link_tree(Session *s) {
        _cleanup_free_ char *target = strf("/proc/%d/root%s", (int) s->holder.pid, s->tree);
        _cleanup_close_ int dirfd = -EBADF;

        if (!target)
                return -ENOMEM;
        dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
                return -errno;
        (void) unlinkat(dirfd, ".tree.new", 0);
        if (symlinkat(target, dirfd, ".tree.new") < 0)
                return -errno;
        if (renameat(dirfd, ".tree.new", dirfd, "tree") < 0)
                return -errno;
        return 0;
}

static int session_start_holder(Session *s, const IdMap *map, char **ret_error) {
        _cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL, *error = NULL;
        int r;

        lower = session_lower_path(s);
        upper = strf("%s/upper", s->dir);
        work = strf("%s/work", s->dir);
        if (!lower || !upper || !work)
                return -ENOMEM;
        r = holder_start(map, lower, upper, work, s->tree, &s->holder, &error);
        if (r < 0) {
                *ret_error = strf("Cannot mount the session's overlay: %s", error ? error : strerror(-r));
                return r;
        }
        if (s->rec.host_tree) {
                r = session_link_tree(s);
                if (r < 0)
                        log_warning("Cannot link %s/tree to the session's overlay: %s", s->dir, strerror(-r));
        }
        return 0;
}

char *session_root_directory(Session *s, char **ret_error) {
        IdMap map;
        int r;

        if (!session_is_overlay(s))
                return strdup(s->tree);
        if (!s->rec.host_tree || s->rec.state != SESSION_READY)
                return NULL;
        if (!holder_alive(&s->holder)) {
                holder_stop(&s->holder);
                r = manager_idmap(s->manager, &map, ret_error);
                if (r >= 0)
                        r = session_start_holder(s, &map, ret_error);
                if (r < 0)
                        return NULL;
        }
        return strf("%s/tree", s->dir);
}

/* A clone of the session's overlay for a command, from its holder, which is started
 * with the first command (again if it died). Returns an fd or -errno. */
static int session_overlay(Session *s, const IdMap *map, char **ret_error) {
        int r = -EPIPE;

        for (int attempt = 0; attempt < 2; attempt++) {
                if (!holder_alive(&s->holder)) {
                        holder_stop(&s->holder);
                        r = session_start_holder(s, map, ret_error);
                        if (r < 0)
                                return r;
                }
                r = holder_get_tree(&s->holder);
                if (r >= 0)
                        return r;
                holder_stop(&s->holder);
        }
        *ret_error = strf("The session's overlay holder failed: %s", strerror(-r));
        return r;
}

int session_run(Session *s, const RunParams *p, sd_bus_message *message, const char **ret_error_name,
                char **ret_error_message) {
        _cleanup_close_pair_ int rp[2] = { -EBADF, -EBADF };
        _cleanup_(run_freep) Run *run = NULL;
        _cleanup_free_ char *description = NULL;
        _cleanup_close_ int overlay_fd = -EBADF;
        RunParams params = *p;
        Run *started;
        int r;

        if (s->rec.state != SESSION_READY) {
                *ret_error_name = CHROOTD_ERROR_NOT_READY;
                *ret_error_message = strf("Session '%s' is %s, not ready", s->rec.id, session_state_to_string(s->rec.state));
                return -EBUSY;
        }
        run = calloc(1, sizeof(Run));
        if (!run || pipe2(rp, O_CLOEXEC) < 0) {
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strdup("Out of memory or file descriptors");
                return -ENOMEM;
        }
        run->child = (SpawnedChild) { .pidfd = -EBADF, .sync_fd = -EBADF };
        run->maps = (IdMapJob) { .uid = { .err_fd = -EBADF }, .gid = { .err_fd = -EBADF } };
        run->report_fd = -EBADF;
        run->t_request = mono_usec();
        r = manager_idmap(s->manager, &run->map, ret_error_message);
        if (r < 0) {
                *ret_error_name = CHROOTD_ERROR_NO_SUBORDINATE_IDS;
                return r;
        }

        params.tree = s->tree;
        params.hostname = s->rec.chroot;
        if (session_is_overlay(s)) {
                s->holder_timer = sd_event_source_unref(s->holder_timer);
                overlay_fd = session_overlay(s, &run->map, ret_error_message);
                if (overlay_fd < 0) {
                        session_arm_holder_timer(s);
                        *ret_error_name = CHROOTD_ERROR_FAILED;
                        return overlay_fd;
                }
                params.overlay_fd = overlay_fd;
        }
        r = run_clone(&params, rp[1], &run->child);
        if (r < 0) {
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strf("Cannot start the command: %s", strerror(-r));
                return r;
        }
        run->t_cloned = mono_usec();
        rp[1] = safe_close(rp[1]);
        (void) fcntl(rp[0], F_SETFL, O_NONBLOCK);
        run->report_fd = TAKE_FD(rp[0]);

        /* The watch owns the process from here: freeing it kills and reaps. */
        r = sd_event_add_child_pidfd(s->manager->event, &run->source, run->child.pidfd, WEXITED, on_run_exit, run);
        if (r < 0) {
                (void) kill(run->child.pid, SIGKILL);
                (void) waitpid(run->child.pid, NULL, 0);
                *ret_error_name = CHROOTD_ERROR_FAILED;
                *ret_error_message = strf("Cannot watch the command: %s", strerror(-r));
                return r;
        }
        (void) sd_event_source_set_child_process_own(run->source, true);
        /* newuidmap and newgidmap run while systemd makes the scope (run_release). */
        r = idmap_apply_start(&run->map, run->child.pid, false, &run->maps, ret_error_message);
        if (r < 0) {
                *ret_error_name = CHROOTD_ERROR_FAILED;
                return r; /* freeing run kills the child */
        }
        if (p->timeout_usec > 0) {
                r = sd_event_add_time_relative(s->manager->event, &run->timer, CLOCK_MONOTONIC, p->timeout_usec, 0,
                                               on_run_timeout, run);
                if (r < 0) {
                        *ret_error_name = CHROOTD_ERROR_FAILED;
                        *ret_error_message = strf("Cannot set up the timeout: %s", strerror(-r));
                        return r; /* freeing run kills the child */
                }
        }

        run->session = s;
        run->started_usec = now_usec();
        for (char **a = p->argv; *a; a++)
                if (strv_extend(&run->argv, *a) < 0) {
                        *ret_error_name = CHROOTD_ERROR_FAILED;
                        *ret_error_message = strdup("Out of memory");
                        return -ENOMEM; /* freeing run kills the child */
                }
        run->message = sd_bus_message_ref(message);
        run->next = s->runs;
        started = s->runs = TAKE_PTR(run);
        s->n_runs++;

        /* From here on, failures reach the caller through on_run_exit. Before the
         * command runs, its init goes into a scope of its own in the session's slice,
         * so that everything it starts is tracked and can be killed by systemd. */
        description = run_description(s, p->argv);
        r = description ? run_scope_name(s->rec.id, started->child.pid, &started->unit) : -ENOMEM;
        if (r >= 0)
                r = systemd_start_scope(s->manager->systemd, started->unit, s->slice, description,
                                        started->child.pid, started->child.pidfd, on_run_scope, started,
                                        &started->job);
        if (r == -EOPNOTSUPP)
                on_run_scope(r, NULL, started);
        else if (r < 0)
                run_fail(started, strf("Cannot ask systemd for a scope: %s", strerror(-r)));
        return 0;
}

static void on_set_limits(int r, const char *message, void *userdata) {
        Session *s = userdata;
        sd_bus_message *m = TAKE_PTR(s->set_limits_message);
        Outcome o = {};

        s->limits_job = NULL;
        if (r >= 0) {
                r = store_write(s->manager->sessions_dirfd, &s->rec);
                if (r < 0)
                        log_warning("Failed to write the state of session '%s': %s", s->rec.id, strerror(-r));
        } else {
                s->rec.limits = s->old_limits;
                o.error_name = r == -EOPNOTSUPP ? CHROOTD_ERROR_NOT_SUPPORTED : CHROOTD_ERROR_FAILED;
                o.error_message = r == -EOPNOTSUPP
                                          ? strdup("Limits need a systemd user manager, and there is none on the bus")
                                          : strf("systemd did not set the limits on %s: %s", s->slice, strempty(message));
        }
        session_reply_set_limits(m, &o);
        sd_bus_message_unref(m);
        outcome_done(&o);
}

int session_set_limits(Session *s, const Limits *l, sd_bus_message *message) {
        if (s->rec.state != SESSION_READY)
                return -EBUSY;
        if (s->set_limits_message)
                return -EALREADY;
        s->old_limits = s->rec.limits;
        if (l->memory_max)
                s->rec.limits.memory_max = l->memory_max;
        if (l->tasks_max)
                s->rec.limits.tasks_max = l->tasks_max;
        if (l->cpu_weight)
                s->rec.limits.cpu_weight = l->cpu_weight;
        s->set_limits_message = sd_bus_message_ref(message);
        session_apply_limits(s, on_set_limits);
        return 0;
}

int session_kill(Session *s, int sig) {
        if (s->rec.state != SESSION_READY)
                return -EBUSY;
        for (Run *r = s->runs; r; r = r->next)
                (void) kill(r->child.pid, sig);
        return 0;
}

int session_end(Session *s, sd_bus_message *message) {
        if (message) {
                sd_bus_message **l = realloc(s->end_messages, sizeof(sd_bus_message *) * (s->n_end_messages + 1));
                if (!l)
                        return -ENOMEM;
                s->end_messages = l;
                s->end_messages[s->n_end_messages++] = sd_bus_message_ref(message);
        }

        switch (s->rec.state) {
        case SESSION_PREPARING:
                /* Stop the unpack; on_worker_exit sees it failed and removes the rest. */
                if (!s->begin_failure.error_name) {
                        s->begin_failure.error_name = CHROOTD_ERROR_SESSION_ENDED;
                        s->begin_failure.error_message = strf("Session '%s' was ended while it was being made", s->rec.id);
                }
                if (s->worker_pid > 0)
                        (void) kill(s->worker_pid, SIGKILL);
                return 0;
        case SESSION_READY:
                session_set_state(s, SESSION_ENDING);
                for (Run *r = s->runs; r; r = r->next)
                        (void) kill(r->child.pid, SIGKILL);
                break;
        case SESSION_ENDING:
        default:
                break;
        }
        session_continue_end(s);
        return 0;
}
