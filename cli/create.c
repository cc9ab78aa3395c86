/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "create.h"
#include "names.h"
#include "paths.h"
#include "process-util.h"
#include "rmtree.h"
#include "subid.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_MIRROR_HOST "deb.debian.org"

static int fail(int r, const char *fmt, ...) _printf_(2, 3);
static int fail(int r, const char *fmt, ...) {
        va_list ap;

        fputs("chrootctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r < 0 ? r : -EIO;
}

/* VERSION_CODENAME of /etc/os-release (bookworm, trixie), or NULL. */
static char *host_suite(void) {
        _cleanup_fclose_ FILE *f = fopen("/etc/os-release", "re");
        char line[256];

        while (f && fgets(line, sizeof(line), f)) {
                const char *v = startswith(line, "VERSION_CODENAME=");
                size_t l;

                if (!v)
                        continue;
                if (*v == '"' || *v == '\'')
                        v++;
                l = strcspn(v, "\"'\n");
                return l > 0 ? strndup(v, l) : NULL;
        }
        return NULL;
}

/* What `dpkg --print-architecture` says (amd64), or NULL. */
static char *host_architecture(void) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *p = popen("dpkg --print-architecture 2>/dev/null", "re");
        ssize_t n;

        if (!p)
                return NULL;
        n = getline(&line, &size, p);
        (void) pclose(p);
        if (n <= 1)
                return NULL;
        line[strcspn(line, "\n")] = 0;
        return TAKE_PTR(line);
}

static bool in_path(const char *program) {
        const char *path = getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin";

        for (const char *p = path; *p;) {
                size_t l = strcspn(p, ":");
                _cleanup_free_ char *f = strf("%.*s/%s", (int) l, p, program);

                if (f && access(f, X_OK) == 0)
                        return true;
                p += l + (p[l] == ':');
        }
        return false;
}

/* A tarball the service would take for chroot name: NAME.tar, NAME.tar.*. */
static bool tarball_exists(const char *dir, const char *name, char **ret_found) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        size_t l = strlen(name);
        struct dirent *de;

        while (d && (de = readdir(d)))
                if (strncmp(de->d_name, name, l) == 0 &&
                    (streq(de->d_name + l, ".tar") || startswith(de->d_name + l, ".tar."))) {
                        *ret_found = strf("%s/%s", dir, de->d_name);
                        return true;
                }
        return false;
}

/* Whether host:80 (the mirror's host, from its URL) takes a connection within 10 s. */
static bool mirror_reachable(const char *mirror, char **ret_host) {
        _cleanup_free_ char *host = NULL;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
        const char *h = mirror ? (strstr(mirror, "://") ? strstr(mirror, "://") + 3 : mirror) : DEFAULT_MIRROR_HOST;
        bool ok = false;

        host = strndup(h, strcspn(h, ":/"));
        if (!host || getaddrinfo(host, "80", &hints, &ai) != 0) {
                *ret_host = TAKE_PTR(host);
                return false;
        }
        for (struct addrinfo *a = ai; a && !ok; a = a->ai_next) {
                _cleanup_close_ int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                int err = 0;
                socklen_t len = sizeof(err);

                if (fd < 0 || (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS))
                        continue;
                ok = poll(&p, 1, 10000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
        }
        freeaddrinfo(ai);
        *ret_host = TAKE_PTR(host);
        return ok;
}

static int check_subids(void) {
        struct passwd *pw = getpwuid(getuid());
        SubIdRange range;

        for (const char *const *f = (const char *const[]) { "/etc/subuid", "/etc/subgid", NULL }; *f; f++) {
                int r = subid_find(*f, pw ? pw->pw_name : "", getuid(), 65536, &range);
                if (r < 0 && r != -ENOENT)
                        return fail(r, "Failed to read %s: %s", *f, strerror(-r));
                if (r <= 0)
                        return fail(-ENOENT,
                                    "Failed to create a chroot: %s has no 65536 subordinate ids for %s, which "
                                    "mmdebstrap's unshare mode needs (as root: usermod --add-subuids 100000-165535 "
                                    "--add-subgids 100000-165535 %s)",
                                    *f, pw ? pw->pw_name : "you", pw ? pw->pw_name : "USER");
        }
        return 0;
}

/* Run mmdebstrap with argv; we step aside for SIGINT and SIGTERM (it gets them from the
 * terminal or from whoever signals our process group, and cleans up itself). Returns
 * its wait status, or -errno. */
static int run_mmdebstrap(char **argv) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_term;
        pid_t pid;
        int status = 0, r;

        (void) sigaction(SIGINT, &ign, &old_int);
        (void) sigaction(SIGTERM, &ign, &old_term);
        pid = fork();
        if (pid == 0) {
                (void) sigaction(SIGINT, &old_int, NULL);
                (void) sigaction(SIGTERM, &old_term, NULL);
                (void) signal(SIGPIPE, SIG_DFL);
                execvp(argv[0], argv);
                fprintf(stderr, "chrootctl: Failed to run mmdebstrap: %m\n");
                _exit(127);
        }
        r = pid < 0 ? -errno : wait_for_child(pid, &status);
        (void) sigaction(SIGINT, &old_int, NULL);
        (void) sigaction(SIGTERM, &old_term, NULL);
        return r < 0 ? r : status;
}

int chroot_create(const CreateOptions *o) {
        _cleanup_(paths_done) Paths paths = {};
        _cleanup_free_ char *suite = NULL, *arch = NULL, *name = NULL, *found = NULL, *tmpdir = NULL;
        _cleanup_free_ char *part = NULL, *final = NULL, *variant = NULL, *include = NULL, *host = NULL;
        char *argv[10];
        size_t n = 0;
        int r, status;

        suite = o->suite ? strdup(o->suite) : host_suite();
        if (!suite)
                return fail(-EINVAL, "Failed to create a chroot: cannot tell the host's suite from /etc/os-release; "
                                     "give --suite");
        if (!name_is_valid(suite))
                return fail(-EINVAL, "Failed to create a chroot: '%s' is not a suite name", suite);
        if (o->variant && !streq(o->variant, "buildd") && !streq(o->variant, "minbase"))
                return fail(-EINVAL, "Failed to create a chroot: --variant must be buildd or minbase, not '%s'",
                            o->variant);
        if (o->name)
                name = strdup(o->name);
        else {
                arch = host_architecture();
                if (!arch)
                        return fail(-EINVAL, "Failed to create a chroot: cannot tell the host's architecture "
                                             "(dpkg --print-architecture); give a NAME");
                name = strf("%s-%s", suite, arch);
        }
        if (!name)
                return fail(-ENOMEM, "Out of memory");
        if (!name_is_valid(name))
                return fail(-EINVAL, "Failed to create a chroot: '%s' is not a valid chroot name (a letter or digit, "
                                     "then letters, digits, '-', '.', '_')",
                            name);
        r = paths_init(&paths);
        if (r < 0)
                return fail(r, "Failed to find the cache directory: %s", strerror(-r));
        if (tarball_exists(paths.sbuild_dir, name, &found))
                return fail(-EEXIST, "Failed to create chroot '%s': %s exists already (chrootctl update %s upgrades "
                                     "it; remove it to make it anew)",
                            name, found, name);
        if (!in_path("mmdebstrap"))
                return fail(-ENOENT, "Failed to create chroot '%s': mmdebstrap is not installed (apt install "
                                     "mmdebstrap)",
                            name);
        r = check_subids();
        if (r < 0)
                return r;

        r = mkdir_p(paths.sbuild_dir, 0755);
        if (r < 0)
                return fail(r, "Failed to make %s: %s", paths.sbuild_dir, strerror(-r));
        /* A directory of its own: mmdebstrap takes the compression from the name, and the
         * service lists nothing in a directory. */
        tmpdir = strf("%s/.create-%s-XXXXXX", paths.sbuild_dir, name);
        if (!tmpdir || !mkdtemp(tmpdir))
                return fail(-errno, "Failed to make a directory in %s: %m", paths.sbuild_dir);
        part = strf("%s/%s.tar.zst", tmpdir, name);
        final = strf("%s/%s.tar.zst", paths.sbuild_dir, name);
        variant = strf("--variant=%s", o->variant ?: "buildd");
        include = o->include ? strf("--include=%s", o->include) : NULL;
        if (!part || !final || !variant || (o->include && !include)) {
                (void) rm_rf_at(AT_FDCWD, tmpdir);
                return fail(-ENOMEM, "Out of memory");
        }
        argv[n++] = (char *) "mmdebstrap";
        argv[n++] = (char *) "--mode=unshare";
        argv[n++] = variant;
        if (include)
                argv[n++] = include;
        argv[n++] = suite;
        argv[n++] = part;
        if (o->mirror)
                argv[n++] = (char *) o->mirror;
        argv[n] = NULL;

        status = run_mmdebstrap(argv);
        if (status != 0) {
                (void) rm_rf_at(AT_FDCWD, tmpdir);
                if (status < 0)
                        return fail(status, "Failed to run mmdebstrap: %s", strerror(-status));
                if (!mirror_reachable(o->mirror, &host))
                        return fail(-EHOSTUNREACH, "Failed to create chroot '%s': the mirror %s cannot be reached",
                                    name, host ? host : "(none)");
                return fail(-EIO, "Failed to create chroot '%s': mmdebstrap %s %d (what it said is above)", name,
                            WIFEXITED(status) ? "failed with status" : "was killed by signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        }
        /* Never over a tarball that came meanwhile. */
        r = renameat2(AT_FDCWD, part, AT_FDCWD, final, RENAME_NOREPLACE) < 0 ? -errno : 0;
        (void) rm_rf_at(AT_FDCWD, tmpdir);
        if (r < 0)
                return fail(r, "Failed to put the tarball in place as %s: %s", final, strerror(-r));
        printf("%s\n", final);
        return 0;
}
