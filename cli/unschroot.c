/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unschroot: a schroot-compatible command line for chrootd (org.chrootd1 on the user
 * bus), for sbuild, autopkgtest and buildd scripts that speak schroot. What it must do
 * is written down in COMPAT.md, read from those clients' sources:
 *
 *   - options as schroot takes them, namespaces chroot:, source: and session:;
 *   - --list, --info, --config and --location in schroot's formats;
 *   - --begin-session, --run-session, --end-session, and automatic sessions
 *     ("-c CHROOT -- CMD": begin, run, end even when the command fails);
 *   - the command's own exit status; 1 and exactly one "E: ..." line on stderr for every
 *     error of the front end itself; nothing on stderr on success.
 *
 * Standard streams are passed to the service as fds: the command reads and writes the
 * caller's own files, pipes and tty; nothing is proxied. */

#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "client.h"
#include "config.h"
#include "names.h"
#include "util.h"

#define ERROR_PREFIX "org.chrootd1.Error."

extern char **environ;

typedef enum Action {
        ACTION_NONE, /* an automatic session, or a command in an existing session */
        ACTION_BEGIN,
        ACTION_RUN,
        ACTION_END,
        ACTION_RECOVER,
        ACTION_INFO,
        ACTION_LIST,
        ACTION_CONFIG,
        ACTION_LOCATION,
        ACTION_HELP,
        ACTION_VERSION,
} Action;

typedef enum Namespace {
        NS_CHROOT,
        NS_SOURCE,
        NS_SESSION,
} Namespace;

static const char *const namespace_names[] = { "chroot", "source", "session" };

static struct {
        Action action;
        char **chroots; /* -c, as given */
        const char *session_name;
        const char *directory;
        const char *user;
        bool preserve_environment;
        bool quiet;
        bool isolate_network;
        bool all_chroots, all_sessions, all_source_chroots;
        bool exclude_aliases;
        char **command;
} arg;

/* Every error of the front end: one line "E: ..." on stderr. Returns -1. */
static int fail(const char *fmt, ...) _printf_(1, 2);
static int fail(const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s)
                for (char *p = s; *p; p++)
                        if (*p == '\n' || *p == '\r')
                                *p = ' ';
        fprintf(stderr, "E: %s\n", s ? s : "Out of memory");
        return -1;
}

static int fail_oom(void) {
        return fail("Out of memory");
}

/* A D-Bus error in schroot's words where schroot has some; what refers to the chroot
 * or session concerned, as the user named it ("chroot:NAME", "session:ID"). */
static int fail_bus(const sd_bus_error *error, int r, const char *what) {
        const char *name = error && error->name ? error->name : NULL;
        const char *e = name ? startswith(name, ERROR_PREFIX) : NULL;
        const char *msg = error && error->message ? error->message : NULL;

        if (!name)
                return fail("%s: %s", what, strerror(r < 0 ? -r : EIO));
        if (e && (streq(e, "NoSuchChroot") || streq(e, "NoSuchSession")))
                return fail("%s: Chroot not found", what);
        if (e && streq(e, "SessionExists"))
                return fail("%s: Session already exists", what);
        if (e && streq(e, "InvalidName"))
                return fail("%s: Invalid name%s%s", what, msg ? ": " : "", strempty(msg));
        if (e && streq(e, "SessionEnded"))
                return fail("%s: Session has ended", what);
        if (e && streq(e, "NoSubordinateIds"))
                return fail("%s%s", "No subordinate ids: ", msg ? msg : "see /etc/subuid and /etc/subgid");
        if (streq(name, SD_BUS_ERROR_SERVICE_UNKNOWN) || streq(name, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return fail("chrootd (" BUS_NAME ") is not available on the user bus: %s", strempty(msg));
        /* NoSuchUser, NoSuchDirectory, ExecFailed, ...: the service says what went wrong
         * in one sentence already. */
        return fail("%s", msg ? msg : name);
}

static int fail_parse(int r) {
        return fail("Failed to parse a reply from " BUS_NAME ": %s", strerror(-r));
}

/* ---- chroots and sessions as the service lists them ---- */

typedef struct Chroot {
        char *name, *type, *path, *description;
        char **aliases;
} Chroot;

typedef struct SessionInfo {
        char *id, *chroot, *state, *path, *root;
        bool write_back; /* a source: session: End writes it back, nothing is purged */
} SessionInfo;

static Chroot *chroots;
static size_t n_chroots;
static SessionInfo *sessions;
static size_t n_sessions;

static int load_chroots(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *type, *path, *description;
        int r;

        if (chroots)
                return 0;
        r = call_manager(bus, "ListChroots", &error, &reply, NULL);
        if (r < 0)
                return fail_bus(&error, r, "Failed to list chroots");
        r = sd_bus_message_enter_container(reply, 'a', "(ssssas)");
        if (r < 0)
                return fail_parse(r);
        while ((r = sd_bus_message_enter_container(reply, 'r', "ssssas")) > 0) {
                Chroot *c;

                r = sd_bus_message_read(reply, "ssss", &name, &type, &path, &description);
                if (r < 0)
                        return fail_parse(r);
                c = reallocarray(chroots, n_chroots + 1, sizeof(Chroot));
                if (!c)
                        return fail_oom();
                chroots = c;
                c = &chroots[n_chroots++];
                *c = (Chroot) { strdup(name), strdup(type), strdup(path), strdup(description), NULL };
                if (!c->name || !c->type || !c->path || !c->description)
                        return fail_oom();
                r = sd_bus_message_read_strv(reply, &c->aliases);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return fail_parse(r);
        }
        if (r < 0)
                return fail_parse(r);
        return 0;
}

static int load_sessions(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *chroot, *state, *path;
        int r;

        if (sessions)
                return 0;
        r = call_manager(bus, "ListSessions", &error, &reply, NULL);
        if (r < 0)
                return fail_bus(&error, r, "Failed to list sessions");
        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        if (r < 0)
                return fail_parse(r);
        while ((r = sd_bus_message_read(reply, "(ssso)", &id, &chroot, &state, &path)) > 0) {
                SessionInfo *s = reallocarray(sessions, n_sessions + 1, sizeof(SessionInfo));
                if (!s)
                        return fail_oom();
                sessions = s;
                s = &sessions[n_sessions++];
                *s = (SessionInfo) { strdup(id), strdup(chroot), strdup(state), strdup(path), NULL };
                if (!s->id || !s->chroot || !s->state || !s->path)
                        return fail_oom();
        }
        if (r < 0)
                return fail_parse(r);
        if (!sessions) /* loaded, none: do not ask again */
                sessions = calloc(1, sizeof(SessionInfo));
        return sessions ? 0 : fail_oom();
}

static const Chroot *find_chroot(const char *name) {
        for (size_t i = 0; i < n_chroots; i++)
                if (streq(chroots[i].name, name) || strv_contains(chroots[i].aliases, name))
                        return &chroots[i];
        return NULL;
}

/* Split "namespace:name"; without a known prefix the whole string is the name. */
static Namespace parse_namespace(const char *s, Namespace def, const char **ret_name) {
        for (size_t i = 0; i < ELEMENTSOF(namespace_names); i++) {
                const char *p = startswith(s, namespace_names[i]);
                if (p && *p == ':') {
                        *ret_name = p + 1;
                        return (Namespace) i;
                }
        }
        *ret_name = s;
        return def;
}

/* A string property of a session object; the copy is the caller's. */
/* The properties unschroot needs, in one GetAll. */
static int session_properties(sd_bus *bus, SessionInfo *info) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = call(bus, info->path, "org.freedesktop.DBus.Properties", "GetAll", &error, &reply, "s", SESSION_IFACE);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                char **dest = NULL;
                const char *key, *v;
                int b;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "Chroot"))
                        dest = &info->chroot;
                else if (streq(key, "RootDirectory"))
                        dest = &info->root;
                else if (streq(key, "State"))
                        dest = &info->state;
                if (dest) {
                        r = sd_bus_message_read(reply, "v", "s", &v);
                        if (r >= 0 && !(*dest = strdup(v)))
                                r = -ENOMEM;
                } else if (streq(key, "WriteBack")) {
                        r = sd_bus_message_read(reply, "v", "b", &b);
                        info->write_back = b;
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return r;
        if (!info->chroot || !info->root || !info->state)
                return -EBADMSG;
        return 0;
}

/* Look a session up by id (GetSession), with its chroot and root directory. */
static int get_session(sd_bus *bus, const char *id, SessionInfo *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *what = strf("session:%s", id);
        const char *path;
        int r;

        r = call_manager(bus, "GetSession", &error, &reply, "s", id);
        if (r < 0)
                return fail_bus(&error, r, what ? what : id);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return fail_parse(r);
        *ret = (SessionInfo) { .id = strdup(id), .path = strdup(path) };
        if (!ret->id || !ret->path)
                return fail_oom();
        r = session_properties(bus, ret);
        if (r < 0)
                return fail("%s: Failed to read the session's properties: %s", what ? what : id, strerror(-r));
        return 0;
}

/* ---- the caller ---- */

static const char *caller_login(void) {
        static char *login;
        struct passwd *pw;

        if (login)
                return login;
        pw = getpwuid(getuid());
        if (pw)
                login = strdup(pw->pw_name);
        if (!login && getenv("USER"))
                login = strdup(getenv("USER"));
        if (!login)
                login = strf("%u", (unsigned) getuid());
        return login ? login : "";
}

/* ---- --list ---- */

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int list_add(char ***l, Namespace ns, const char *name) {
        return strv_consume(l, strf("%s:%s", namespace_names[ns], name));
}

/* The chroots an informational action is about: those named with -c, or by default
 * (and with --all*) every chroot, source chroot and, with --all-sessions, session. */
typedef struct Target {
        Namespace ns;
        const Chroot *chroot;      /* NS_CHROOT, NS_SOURCE */
        const char *alias;         /* the name it was asked for by */
        SessionInfo session;       /* NS_SESSION */
} Target;

static void target_done(Target *t) {
        free(t->session.id);
        free(t->session.chroot);
        free(t->session.state);
        free(t->session.path);
        free(t->session.root);
}

static int resolve_target(sd_bus *bus, const char *spec, Namespace def, Target *ret) {
        const char *name;
        Namespace ns = parse_namespace(spec, def, &name);

        *ret = (Target) { .ns = ns, .alias = name };
        if (ns == NS_SESSION)
                return get_session(bus, name, &ret->session);
        if (load_chroots(bus) < 0)
                return -1;
        ret->chroot = find_chroot(name);
        if (!ret->chroot)
                return fail("%s:%s: Chroot not found", namespace_names[ns], name);
        return 0;
}

static int action_list(sd_bus *bus) {
        _cleanup_strv_free_ char **lines = NULL;
        bool chroot_ns = arg.all_chroots, source_ns = arg.all_source_chroots, session_ns = arg.all_sessions;
        int r = 0;

        if (load_chroots(bus) < 0)
                return -1;

        if (arg.chroots) {
                for (char **c = arg.chroots; *c; c++) {
                        Target t;
                        if (resolve_target(bus, *c, NS_CHROOT, &t) < 0)
                                return -1;
                        r = list_add(&lines, t.ns, t.ns == NS_SESSION ? t.session.id : t.alias);
                        target_done(&t);
                        if (r < 0)
                                return fail_oom();
                }
        } else {
                if (!chroot_ns && !source_ns && !session_ns)
                        chroot_ns = true;
                for (size_t i = 0; i < n_chroots; i++)
                        for (Namespace ns = NS_CHROOT; ns <= NS_SOURCE; ns++) {
                                if (!(ns == NS_CHROOT ? chroot_ns : source_ns))
                                        continue;
                                if (list_add(&lines, ns, chroots[i].name) < 0)
                                        return fail_oom();
                                if (!arg.exclude_aliases)
                                        for (char **a = chroots[i].aliases; a && *a; a++)
                                                if (list_add(&lines, ns, *a) < 0)
                                                        return fail_oom();
                        }
                if (session_ns) {
                        if (load_sessions(bus) < 0)
                                return -1;
                        for (size_t i = 0; i < n_sessions; i++)
                                if (list_add(&lines, NS_SESSION, sessions[i].id) < 0)
                                        return fail_oom();
                }
        }

        if (lines)
                qsort(lines, strv_length(lines), sizeof(char *), cmp_str);
        for (char **l = lines; l && *l; l++)
                printf("%s\n", *l);
        return 0;
}

/* ---- --info ---- */

static void detail(const char *key, const char *value) {
        printf("  %-22s %s\n", key, value);
}

static void detail_strv(const char *key, char *const *values) {
        printf("  %-22s", key);
        for (char *const *v = values; v && *v; v++)
                printf(" %s", *v);
        if (!values || !*values)
                putchar(' ');
        putchar('\n');
}

static void print_chroot_info(const Chroot *c, Namespace ns) {
        printf("  \u2500\u2500\u2500 %s \u2500\u2500\u2500\n", ns == NS_SOURCE ? "Source" : "Chroot");
        detail("Name", c->name);
        detail("Description", c->description);
        detail("Type", c->type);
        detail("Message Verbosity", arg.quiet ? "quiet" : "normal");
        detail("Users", caller_login());
        detail("Groups", "");
        detail("Root Users", caller_login());
        detail("Root Groups", "");
        detail_strv("Aliases", c->aliases);
        detail("Preserve Environment", "false");
        detail("Session Managed", "true");
        detail("Session Cloned", "true");
        /* A session of chroot: is thrown away on End; a source: session is written
         * back into the tarball. */
        detail("Session Purged", ns == NS_SOURCE ? "false" : "true");
        detail(streq(c->type, "file") ? "File" : "Directory", c->path);
}

static void print_session_info(const SessionInfo *s) {
        printf("  \u2500\u2500\u2500 Session \u2500\u2500\u2500\n");
        detail("Name", s->id);
        detail("Original Chroot Name", strempty(s->chroot));
        detail("Session ID", s->id);
        detail("Message Verbosity", arg.quiet ? "quiet" : "normal");
        detail("Users", caller_login());
        detail("Root Users", caller_login());
        detail_strv("Aliases", NULL);
        detail("Session Managed", "true");
        detail("Session Cloned", "false");
        detail("Session Purged", s->write_back ? "false" : "true");
        detail("Path", strempty(s->root));
}

static int action_info(sd_bus *bus) {
        bool first = true;

        if (load_chroots(bus) < 0)
                return -1;

        if (arg.chroots) {
                for (char **c = arg.chroots; *c; c++) {
                        Target t;
                        if (resolve_target(bus, *c, NS_CHROOT, &t) < 0)
                                return -1;
                        if (!first)
                                putchar('\n');
                        first = false;
                        if (t.ns == NS_SESSION)
                                print_session_info(&t.session);
                        else
                                print_chroot_info(t.chroot, t.ns);
                        target_done(&t);
                }
                return 0;
        }

        bool all = !arg.all_chroots && !arg.all_source_chroots && !arg.all_sessions;
        for (Namespace ns = NS_CHROOT; ns <= NS_SOURCE; ns++) {
                if (!(all || (ns == NS_CHROOT ? arg.all_chroots : arg.all_source_chroots)))
                        continue;
                for (size_t i = 0; i < n_chroots; i++) {
                        if (!first)
                                putchar('\n');
                        first = false;
                        print_chroot_info(&chroots[i], ns);
                }
        }
        if (arg.all_sessions) {
                if (load_sessions(bus) < 0)
                        return -1;
                for (size_t i = 0; i < n_sessions; i++) {
                        SessionInfo s;
                        if (get_session(bus, sessions[i].id, &s) < 0)
                                continue; /* ended meanwhile */
                        if (!first)
                                putchar('\n');
                        first = false;
                        print_session_info(&s);
                        Target t = { .session = s };
                        target_done(&t);
                }
        }
        return 0;
}

/* ---- --config and --location ---- */

/* key=value, left out when the value cannot be written as one (autopkgtest splits on
 * the first "=" and reads line by line). */
static void config_line(const char *key, const char *value) {
        if (strpbrk(value, "=\n"))
                return;
        printf("%s=%s\n", key, value);
}

static int action_config(sd_bus *bus) {
        bool first = true;

        if (load_chroots(bus) < 0)
                return -1;

        for (size_t i = 0; arg.chroots ? arg.chroots[i] != NULL : i < n_chroots; i++) {
                _cleanup_free_ char *aliases = NULL;
                const Chroot *c;
                Target t = {};

                if (arg.chroots) {
                        if (resolve_target(bus, arg.chroots[i], NS_CHROOT, &t) < 0)
                                return -1;
                        if (t.ns == NS_SESSION) {
                                c = find_chroot(strempty(t.session.chroot));
                                if (!c) {
                                        target_done(&t);
                                        return fail("session:%s: Chroot not found", arg.chroots[i]);
                                }
                        } else
                                c = t.chroot;
                } else
                        c = &chroots[i];

                if (first)
                        printf("# schroot configuration generated by unschroot (chrootd %s)\n", VERSION);
                else
                        putchar('\n');
                first = false;

                printf("[%s]\n", t.ns == NS_SESSION ? t.session.id : c->name);
                config_line("type", c->type);
                config_line(streq(c->type, "file") ? "file" : "directory", c->path);
                if (!streq(c->type, "file"))
                        config_line("union-type", "overlay");
                if (c->description[0])
                        config_line("description", c->description);
                for (char **a = c->aliases; a && *a; a++) {
                        char *j = strf("%s%s%s", strempty(aliases), aliases ? "," : "", *a);
                        if (!j)
                                return fail_oom();
                        free(aliases);
                        aliases = j;
                }
                config_line("aliases", strempty(aliases));
                config_line("users", caller_login());
                config_line("groups", "");
                config_line("root-users", caller_login());
                config_line("root-groups", "");
                config_line("source-clone", "true");
                target_done(&t);
        }
        return 0;
}

static int action_location(sd_bus *bus) {
        if (!arg.chroots)
                return fail("--location needs a chroot or session (--chroot)");
        for (char **c = arg.chroots; *c; c++) {
                Target t;
                if (resolve_target(bus, *c, NS_CHROOT, &t) < 0)
                        return -1;
                printf("%s\n", t.ns == NS_SESSION ? strempty(t.session.root) : t.chroot->path);
                target_done(&t);
        }
        return 0;
}

/* ---- sessions ---- */

/* The one chroot -c names, for the actions that take exactly one. */
static int single_chroot(const char **ret) {
        if (!arg.chroots)
                return fail("No chroot specified (--chroot)");
        if (arg.chroots[1])
                return fail("Only one chroot may be specified (--chroot)");
        *ret = arg.chroots[0];
        return 0;
}

/* Whether the host has an account sbuild whose ids a session can hold. */
static bool sbuild_account_fits(void) {
        struct passwd *pw = getpwnam("sbuild");

        return pw && pw->pw_uid <= 65535 && pw->pw_gid <= 65535;
}

/* Begin a session of spec (a chroot: or source: name). On success *ret_id is the id. */
/* host_tree: the session's clients need its tree on the host (--location: sbuild and
 * autopkgtest copy files in and out there); an automatic session is ours alone. */
static int begin_session(sd_bus *bus, const char *spec, const char *session_name, bool host_tree, char **ret_id) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *what = NULL;
        const char *name, *id, *path;
        Namespace ns = parse_namespace(spec, NS_CHROOT, &name);
        bool add_login;
        int r;

        if (ns == NS_SESSION)
                return fail("%s: A session cannot be used to begin a session: name a chroot", spec);
        what = strf("%s:%s", namespace_names[ns], name);
        if (!what)
                return fail_oom();
        if (!name_is_valid(name))
                return fail("%s: Chroot not found", what);
        if (session_name && !name_is_valid(session_name))
                return fail("%s: Invalid session name: names start with a letter or digit, then letters, "
                            "digits and '-._'", session_name);

        /* As schroot does at session start, the caller's login is copied into the
         * session (autopkgtest runs tests as it through su); the service cannot map
         * ids above 65535, so such a caller goes without. source: sessions are
         * written back into the chroot's tarball when they end. */
        add_login = getuid() <= 65535 && getgid() <= 65535;
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "BeginSession");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", name, strempty(session_name));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && add_login)
                r = sd_bus_message_append(m, "{sv}", "add-login", "b", 1);
        /* schroot's sbuild profile copies the host's passwd and group into the session:
         * sbuild >= 0.86 looks for its own user and group inside and, in a chroot
         * without useradd (trixie's buildd tarballs), cannot add them. */
        if (r >= 0 && add_login && sbuild_account_fits())
                r = sd_bus_message_append(m, "{sv}", "add-accounts", "as", 1, "sbuild");
        if (r >= 0 && ns == NS_SOURCE)
                r = sd_bus_message_append(m, "{sv}", "write-back", "b", 1);
        /* Builds share what they download (a chroot's .conf turns it off with
         * package-cache=false); a source: session's cache is the chroot's own. */
        else if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "package-cache", "b", 1);
        if (r >= 0 && host_tree)
                r = sd_bus_message_append(m, "{sv}", "host-tree", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return fail("Failed to build the BeginSession request: %s", strerror(-r));
        r = sd_bus_call(bus, m, CALL_TIMEOUT, &error, &reply);
        if (r < 0) {
                _cleanup_free_ char *sw = session_name ? strf("session:%s", session_name) : NULL;
                const char *n = error.name ? startswith(error.name, ERROR_PREFIX) : NULL;
                return fail_bus(&error, r, n && streq(n, "SessionExists") && sw ? sw : what);
        }
        r = sd_bus_message_read(reply, "so", &id, &path);
        if (r < 0)
                return fail_parse(r);
        *ret_id = strdup(id);
        return *ret_id ? 0 : fail_oom();
}

static int end_session(sd_bus *bus, const char *id) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *what = strf("session:%s", id);
        int r;

        r = call_manager(bus, "EndSession", &error, NULL, "s", id);
        if (r < 0)
                return fail_bus(&error, r, what ? what : id);
        return 0;
}

static int action_begin(sd_bus *bus) {
        _cleanup_free_ char *id = NULL;
        const char *spec;

        if (single_chroot(&spec) < 0 || begin_session(bus, spec, arg.session_name, true, &id) < 0)
                return -1;
        printf("%s\n", id);
        return 0;
}

static int action_end(sd_bus *bus) {
        _cleanup_strv_free_ char **ids = NULL;
        int ret = 0;

        if (arg.all_sessions) {
                if (load_sessions(bus) < 0)
                        return -1;
                for (size_t i = 0; i < n_sessions; i++)
                        if (strv_extend(&ids, sessions[i].id) < 0)
                                return fail_oom();
        }
        for (char **c = arg.chroots; c && *c; c++) {
                const char *name;
                if (parse_namespace(*c, NS_SESSION, &name) != NS_SESSION)
                        return fail("%s: Chroot not found: --end-session takes a session", *c);
                if (strv_extend(&ids, name) < 0)
                        return fail_oom();
        }
        if (!ids && !arg.all_sessions)
                return fail("No session specified (--chroot)");
        for (char **i = ids; i && *i; i++)
                if (end_session(bus, *i) < 0)
                        ret = -1;
        return ret;
}

static int action_recover(sd_bus *bus) {
        /* Sessions are directories and state files that survive reboots and restarts
         * of the service: there is nothing to recover, only to check. */
        for (char **c = arg.chroots; c && *c; c++) {
                SessionInfo s;
                const char *name;

                if (parse_namespace(*c, NS_SESSION, &name) != NS_SESSION)
                        return fail("%s: Chroot not found: --recover-session takes a session", *c);
                if (get_session(bus, name, &s) < 0)
                        return -1;
                Target t = { .session = s };
                target_done(&t);
        }
        return 0;
}

/* ---- running a command ---- */

/* schroot's variables, and TERM with a clean environment: set by the service after it
 * built the command's environment (Run's setenv), which it does from the session's own
 * /etc/passwd, read inside the session. unschroot never opens a file of the tree: root
 * inside owns them and could make them a fifo or swap in a symlink to a file of ours. */
static int build_setenv(const SessionInfo *s, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        struct group *gr = getgrgid(getgid());
        char uid[32], gid[32];
        int r = 0;

        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        snprintf(gid, sizeof(gid), "%u", (unsigned) getgid());
        /* With -p, the caller's TERM is in the environment already. */
        if (!arg.preserve_environment && getenv("TERM"))
                r = strv_consume(&env, strf("TERM=%s", getenv("TERM")));
        if (r >= 0)
                r = strv_consume(&env, strf("SCHROOT_CHROOT_NAME=%s", strempty(s->chroot)));
        if (r >= 0)
                r = strv_consume(&env, strf("SCHROOT_ALIAS_NAME=%s", strempty(s->chroot)));
        if (r >= 0)
                r = strv_consume(&env, strf("SCHROOT_SESSION_ID=%s", s->id));
        if (r >= 0)
                r = strv_consume(&env, strf("SCHROOT_USER=%s", caller_login()));
        if (r >= 0)
                r = strv_consume(&env, strf("SCHROOT_UID=%s", uid));
        if (r >= 0)
                r = strv_consume(&env, strf("SCHROOT_GID=%s", gid));
        if (r >= 0)
                r = strv_consume(&env, strf("SCHROOT_GROUP=%s", gr ? gr->gr_name : gid));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(env);
        return 0;
}

/* -p: the caller's environment less schroot's filter (never NULL: an empty one is
 * still given, unlike none, which means a clean one). */
static int preserved_environment(char ***ret) {
        _cleanup_strv_free_ char **env = calloc(1, sizeof(char *));

        if (!env)
                return -ENOMEM;
        for (char **e = environ; e && *e; e++)
                if (!environment_unsafe(*e) && strv_extend(&env, *e) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

/* The Run request: the command (none: the user's login shell, which the service finds
 * in the session's /etc/passwd), the caller's streams, user, directory, network, and
 * the environment (-p) and setenv. */
static int build_run(sd_bus *bus, const SessionInfo *s, const char *user, const char *directory, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **env = NULL, **setenv = NULL;
        int r;

        r = build_setenv(s, &setenv);
        if (r >= 0 && arg.preserve_environment)
                r = preserved_environment(&env);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, s->path, SESSION_IFACE, "Run");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, arg.command);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_stdio_options(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "user", "s", user);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "directory", "s", directory);
        if (r >= 0 && arg.isolate_network)
                r = sd_bus_message_append(m, "{sv}", "network", "s", "none");
        if (r >= 0 && env)
                r = append_strv_option(m, "environment", env);
        if (r >= 0)
                r = append_strv_option(m, "setenv", setenv);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static const char *signal_name(int sig) {
        const char *d = sigdescr_np(sig);
        return d ? d : "unknown signal";
}

/* Run the command in session s; returns its exit status, or -1 after an E: line. */
static int run_in_session(sd_bus *bus, const SessionInfo *s) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *cwd = NULL, *what = strf("session:%s", s->id);
        const char *user = arg.user ? arg.user : caller_login();
        const char *directory = arg.directory, *result;
        int32_t value;
        int r;

        if (!directory) {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return fail("Failed to get the current directory: %s", strerror(errno));
                directory = cwd;
        }
        r = build_run(bus, s, user, directory, &m);
        if (r < 0)
                return fail("Failed to build the Run request: %s", strerror(-r));

        r = call_run_forwarding_signals(bus, m, s->path, &error, &reply);
        if (r < 0)
                return fail_bus(&error, r, what ? what : s->id);
        r = sd_bus_message_read(reply, "si", &result, &value);
        if (r < 0)
                return fail_parse(r);
        if (streq(result, "exited"))
                return value & 0xff;
        if (streq(result, "killed") || streq(result, "timeout"))
                return fail("Child terminated by signal '%s'", signal_name(value));
        return fail("Unknown result '%s' from " BUS_NAME, result);
}

static int action_run(sd_bus *bus) {
        SessionInfo s;
        const char *spec, *name;
        int r;

        if (single_chroot(&spec) < 0)
                return -1;
        if (parse_namespace(spec, NS_SESSION, &name) != NS_SESSION)
                return fail("%s: Chroot not found: --run-session takes a session", spec);
        if (get_session(bus, name, &s) < 0)
                return -1;
        r = run_in_session(bus, &s);
        Target t = { .session = s };
        target_done(&t);
        return r;
}

/* No action: a command in an automatic session of a chroot (begun, used, ended even
 * when the command fails), or in an existing session named session:ID. */
static int action_automatic(sd_bus *bus) {
        _cleanup_free_ char *id = NULL;
        SessionInfo s;
        const char *spec, *name;
        int r, q;

        if (single_chroot(&spec) < 0)
                return -1;
        if (parse_namespace(spec, NS_CHROOT, &name) == NS_SESSION)
                return action_run(bus);

        /* A signal must not leave the session behind: held back until the command runs
         * (which passes them on) and while the session ends. One that comes during
         * Begin means the command is not run at all. */
        sigset_t mask, pending;
        forwarded_signals(&mask);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        if (begin_session(bus, spec, arg.session_name, false, &id) < 0)
                return -1;
        r = get_session(bus, id, &s);
        if (r >= 0 && sigpending(&pending) >= 0)
                for (int sig = 1; sig < _NSIG; sig++)
                        if (sigismember(&mask, sig) && sigismember(&pending, sig)) {
                                r = fail("Terminated by signal '%s' before the command ran", signal_name(sig));
                                break;
                        }
        if (r >= 0) {
                r = run_in_session(bus, &s);
                Target t = { .session = s };
                target_done(&t);
        }
        q = end_session(bus, id);
        return r < 0 ? r : q < 0 ? q : r;
}

/* ---- command line ---- */

static void help(void) {
        printf("Usage:\n"
               "  unschroot [OPTION...] [-c CHROOT] [--] [COMMAND...]\n"
               "\n"
               "schroot's command line for chroot sessions of chrootd, the per-user service.\n"
               "\n"
               "Actions:\n"
               "  -h, --help                  Show this help\n"
               "  -V, --version               Show the version\n"
               "  -l, --list                  List chroots (with --all-sessions, sessions)\n"
               "  -i, --info                  Show information about chroots or sessions\n"
               "      --config                Dump the configuration of chroots\n"
               "      --location              Print the location of a chroot or session\n"
               "  -b, --begin-session         Begin a session and print its id\n"
               "  -r, --run-session           Run a command in an existing session\n"
               "  -e, --end-session           End a session\n"
               "      --recover-session       Check that a session still exists\n"
               "\n"
               "Options:\n"
               "  -c, --chroot=NAME           chroot:NAME, source:NAME or session:ID\n"
               "  -a, --all                   All chroots, source chroots and sessions\n"
               "      --all-chroots           All chroots\n"
               "      --all-source-chroots    All source chroots\n"
               "      --all-sessions          All sessions\n"
               "      --exclude-aliases       Leave aliases out of --list\n"
               "  -n, --session-name=ID       Id of the session to begin\n"
               "  -u, --user=USER             User in the chroot (default: yours)\n"
               "  -d, --directory=DIR         Directory in the chroot (default: the current one)\n"
               "  -p, --preserve-environment  Keep this environment, less unsafe variables\n"
               "      --isolate-network       Run with only loopback networking\n"
               "  -q, --quiet                 Show less output\n"
               "  -v, --verbose               Show more output\n");
}

enum {
        ARG_CONFIG = 0x100,
        ARG_LOCATION,
        ARG_ALL_CHROOTS,
        ARG_ALL_SESSIONS,
        ARG_ALL_SOURCE_CHROOTS,
        ARG_RECOVER,
        ARG_EXCLUDE_ALIASES,
        ARG_ISOLATE_NETWORK,
        ARG_AUTOMATIC,
};

#define OPTSTRING "+:hVlibreac:n:u:d:pqvo:"

static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "list", no_argument, NULL, 'l' },
        { "info", no_argument, NULL, 'i' },
        { "config", no_argument, NULL, ARG_CONFIG },
        { "location", no_argument, NULL, ARG_LOCATION },
        { "begin-session", no_argument, NULL, 'b' },
        { "run-session", no_argument, NULL, 'r' },
        { "end-session", no_argument, NULL, 'e' },
        { "recover-session", no_argument, NULL, ARG_RECOVER },
        { "automatic-session", no_argument, NULL, ARG_AUTOMATIC },
        { "all", no_argument, NULL, 'a' },
        { "all-chroots", no_argument, NULL, ARG_ALL_CHROOTS },
        { "all-sessions", no_argument, NULL, ARG_ALL_SESSIONS },
        { "all-source-chroots", no_argument, NULL, ARG_ALL_SOURCE_CHROOTS },
        { "exclude-aliases", no_argument, NULL, ARG_EXCLUDE_ALIASES },
        { "chroot", required_argument, NULL, 'c' },
        { "session-name", required_argument, NULL, 'n' },
        { "user", required_argument, NULL, 'u' },
        { "directory", required_argument, NULL, 'd' },
        { "preserve-environment", no_argument, NULL, 'p' },
        { "isolate-network", no_argument, NULL, ARG_ISOLATE_NETWORK },
        { "option", required_argument, NULL, 'o' },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        {}
};

static int set_action(Action a, const char *opt) {
        if (arg.action != ACTION_NONE && arg.action != a)
                return fail("Only one action may be specified (%s)", opt);
        arg.action = a;
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, OPTSTRING, options, NULL)) != -1) {
                const char *opt = argv[optind - 1];
                int r = 0;

                switch (c) {
                case 'h': r = set_action(ACTION_HELP, opt); break;
                case 'V': r = set_action(ACTION_VERSION, opt); break;
                case 'l': r = set_action(ACTION_LIST, opt); break;
                case 'i': r = set_action(ACTION_INFO, opt); break;
                case ARG_CONFIG: r = set_action(ACTION_CONFIG, opt); break;
                case ARG_LOCATION: r = set_action(ACTION_LOCATION, opt); break;
                case 'b': r = set_action(ACTION_BEGIN, opt); break;
                case 'r': r = set_action(ACTION_RUN, opt); break;
                case 'e': r = set_action(ACTION_END, opt); break;
                case ARG_RECOVER: r = set_action(ACTION_RECOVER, opt); break;
                case ARG_AUTOMATIC: break;
                case 'a':
                        arg.all_chroots = arg.all_sessions = arg.all_source_chroots = true;
                        break;
                case ARG_ALL_CHROOTS: arg.all_chroots = true; break;
                case ARG_ALL_SESSIONS: arg.all_sessions = true; break;
                case ARG_ALL_SOURCE_CHROOTS: arg.all_source_chroots = true; break;
                case ARG_EXCLUDE_ALIASES: arg.exclude_aliases = true; break;
                case 'c':
                        if (strv_extend(&arg.chroots, optarg) < 0)
                                return fail_oom();
                        break;
                case 'n': arg.session_name = optarg; break;
                case 'u': arg.user = optarg; break;
                case 'd': arg.directory = optarg; break;
                case 'p': arg.preserve_environment = true; break;
                case ARG_ISOLATE_NETWORK: arg.isolate_network = true; break;
                case 'o': break; /* schroot's --option KEY=VALUE for setup scripts: none here */
                case 'q': arg.quiet = true; break;
                case 'v': arg.quiet = false; break;
                case ':':
                        return fail("the required argument for option '%s' is missing", opt);
                default:
                        if (optopt > 0 && optopt < 0x100 && !strchr(OPTSTRING, optopt))
                                return fail("unrecognised option '-%c'", optopt);
                        return fail("unrecognised option '%s'", opt);
                }
                if (r < 0)
                        return r;
        }

        for (int i = optind; i < argc; i++)
                if (strv_extend(&arg.command, argv[i]) < 0)
                        return fail_oom();

        if (arg.command && arg.action != ACTION_NONE && arg.action != ACTION_RUN && arg.action != ACTION_HELP &&
            arg.action != ACTION_VERSION)
                return fail("'%s': a command is only valid with --run-session or an automatic session",
                            arg.command[0]);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        stdio_fill_closed();

        signal(SIGPIPE, SIG_IGN);

        if (parse_argv(argc, argv) < 0)
                return EXIT_FAILURE;

        if (arg.action == ACTION_HELP) {
                help();
                return EXIT_SUCCESS;
        }
        if (arg.action == ACTION_VERSION) {
                printf("unschroot (chrootd) %s\n", VERSION);
                return EXIT_SUCCESS;
        }
        if (getuid() == 0) {
                fail("unschroot runs chroot sessions of an unprivileged user through chrootd; "
                     "root is not served (use schroot itself as root)");
                return EXIT_FAILURE;
        }
        if (arg.action == ACTION_NONE && !arg.chroots) {
                fail("No chroot specified (--chroot)");
                return EXIT_FAILURE;
        }

        /* sbuild 0.85 runs us with a filtered environment that has neither
         * DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR: the user bus is still at its
         * standard place. */
        if (!getenv("DBUS_SESSION_BUS_ADDRESS") && !getenv("XDG_RUNTIME_DIR")) {
                _cleanup_free_ char *runtime = strf("/run/user/%u", (unsigned) getuid());
                if (runtime && access(runtime, F_OK) == 0)
                        (void) setenv("XDG_RUNTIME_DIR", runtime, 0);
        }
        r = sd_bus_open_user(&bus);
        if (r < 0) {
                fail("Failed to connect to the user bus: %s",
                     r == -ENOMEDIUM ? "neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set"
                                     : strerror(-r));
                return EXIT_FAILURE;
        }

        switch (arg.action) {
        case ACTION_LIST: r = action_list(bus); break;
        case ACTION_INFO: r = action_info(bus); break;
        case ACTION_CONFIG: r = action_config(bus); break;
        case ACTION_LOCATION: r = action_location(bus); break;
        case ACTION_BEGIN: r = action_begin(bus); break;
        case ACTION_RUN: r = action_run(bus); break;
        case ACTION_END: r = action_end(bus); break;
        case ACTION_RECOVER: r = action_recover(bus); break;
        default: r = action_automatic(bus); break;
        }
        if (r < 0)
                return EXIT_FAILURE;

        if (fflush(stdout) != 0 && errno != EPIPE) {
                fail("Failed to write to standard output: %s", strerror(errno));
                return EXIT_FAILURE;
        }
        return r;
}
