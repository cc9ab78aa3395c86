/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The varlink interface org.chrootd.Manager, in sd-varlink-idl's terms: sd-varlink
 * checks every call's parameters against it (types, unknown fields: the protocol's
 * org.varlink.service.InvalidParameter) and serves it as GetInterfaceDescription. Its
 * text is interfaces/org.chrootd.Manager.varlink. Names are the D-Bus interface's in
 * lowerCamelCase (memory-max: memoryMax, RootDirectory: rootDirectory); the values and
 * the core's checks of them are the same. */
#include "manager-varlink-idl.h"

/* ---- types ---- */

static SD_VARLINK_DEFINE_STRUCT_TYPE(
                Chroot,
                SD_VARLINK_FIELD_COMMENT("Its name; Begin also takes an alias"),
                SD_VARLINK_DEFINE_FIELD(name, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("\"file\" (a tarball) or \"directory\""),
                SD_VARLINK_DEFINE_FIELD(type, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("The tarball or directory"),
                SD_VARLINK_DEFINE_FIELD(path, SD_VARLINK_STRING, 0),
                SD_VARLINK_DEFINE_FIELD(description, SD_VARLINK_STRING, 0),
                SD_VARLINK_DEFINE_FIELD(aliases, SD_VARLINK_STRING, SD_VARLINK_ARRAY));

static SD_VARLINK_DEFINE_STRUCT_TYPE(
                Command,
                SD_VARLINK_DEFINE_FIELD(argv, SD_VARLINK_STRING, SD_VARLINK_ARRAY),
                SD_VARLINK_FIELD_COMMENT("Its init, as the service sees it"),
                SD_VARLINK_DEFINE_FIELD(pid, SD_VARLINK_INT, 0),
                SD_VARLINK_FIELD_COMMENT("Its transient scope; null without a user manager"),
                SD_VARLINK_DEFINE_FIELD(unit, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("When it started, in microseconds since the epoch"),
                SD_VARLINK_DEFINE_FIELD(startedUSec, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_STRUCT_TYPE(
                Session,
                SD_VARLINK_DEFINE_FIELD(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("The chroot it was made from"),
                SD_VARLINK_DEFINE_FIELD(chroot, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("\"preparing\", \"ready\" or \"ending\""),
                SD_VARLINK_DEFINE_FIELD(state, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("Share of the tarball unpacked, 0..1 (1 once ready)"),
                SD_VARLINK_DEFINE_FIELD(progress, SD_VARLINK_FLOAT, 0),
                SD_VARLINK_FIELD_COMMENT("Microseconds since the epoch"),
                SD_VARLINK_DEFINE_FIELD(creationTimestamp, SD_VARLINK_INT, 0),
                SD_VARLINK_FIELD_COMMENT("\"overlay\" (over a cached base) or \"none\""),
                SD_VARLINK_DEFINE_FIELD(unionType, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("End writes the tree back into the tarball"),
                SD_VARLINK_DEFINE_FIELD(writeBack, SD_VARLINK_BOOL, 0),
                SD_VARLINK_FIELD_COMMENT("Its commands share the chroot's package cache"),
                SD_VARLINK_DEFINE_FIELD(packageCache, SD_VARLINK_BOOL, 0),
                SD_VARLINK_FIELD_COMMENT("Booted: the tree's own init runs as PID 1 of a container"),
                SD_VARLINK_DEFINE_FIELD(boot, SD_VARLINK_BOOL, 0),
                SD_VARLINK_FIELD_COMMENT("Booted with the host's network (else only lo)"),
                SD_VARLINK_DEFINE_FIELD(hostNetwork, SD_VARLINK_BOOL, 0),
                SD_VARLINK_FIELD_COMMENT("\"off\", \"starting\", \"running\" or \"stopping\"; null: not booted"),
                SD_VARLINK_DEFINE_FIELD(bootState, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("The tree as the host sees it: host-tree sessions only"),
                SD_VARLINK_DEFINE_FIELD(rootDirectory, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("The session's slice in the user manager"),
                SD_VARLINK_DEFINE_FIELD(slice, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("Limits on the slice, 0 where none is set"),
                SD_VARLINK_DEFINE_FIELD(memoryMax, SD_VARLINK_INT, 0),
                SD_VARLINK_DEFINE_FIELD(tasksMax, SD_VARLINK_INT, 0),
                SD_VARLINK_DEFINE_FIELD(cpuWeight, SD_VARLINK_INT, 0),
                SD_VARLINK_FIELD_COMMENT("What the slice uses; null where its cgroup says nothing"),
                SD_VARLINK_DEFINE_FIELD(tasksCurrent, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_FIELD(memoryCurrent, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_FIELD(cpuUsageNSec, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_FIELD(runningCommands, SD_VARLINK_INT, 0),
                SD_VARLINK_DEFINE_FIELD_BY_TYPE(commands, Command, SD_VARLINK_ARRAY));

/* ---- methods ---- */

static SD_VARLINK_DEFINE_METHOD(
                ListChroots,
                SD_VARLINK_DEFINE_OUTPUT_BY_TYPE(chroots, Chroot, SD_VARLINK_ARRAY));

static SD_VARLINK_DEFINE_METHOD(
                ListSessions,
                SD_VARLINK_DEFINE_OUTPUT_BY_TYPE(sessions, Session, SD_VARLINK_ARRAY));

static SD_VARLINK_DEFINE_METHOD(
                BeginSession,
                SD_VARLINK_FIELD_COMMENT("A chroot's name or alias"),
                SD_VARLINK_DEFINE_INPUT(chroot, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("The session's id; null or \"\": one made from the chroot's"),
                SD_VARLINK_DEFINE_INPUT(name, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("Bytes, at least 1; 18446744073709551615: no limit"),
                SD_VARLINK_DEFINE_INPUT(memoryMax, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("Tasks, at least 1; 18446744073709551615: no limit"),
                SD_VARLINK_DEFINE_INPUT(tasksMax, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("1..10000"),
                SD_VARLINK_DEFINE_INPUT(cpuWeight, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("The user's passwd and group entries go into the tree"),
                SD_VARLINK_DEFINE_INPUT(addLogin, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("With addLogin: these host accounts too"),
                SD_VARLINK_DEFINE_INPUT(addAccounts, SD_VARLINK_STRING, SD_VARLINK_ARRAY|SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("End repacks the tree into the tarball"),
                SD_VARLINK_DEFINE_INPUT(writeBack, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("The tree must be reachable from the host (rootDirectory)"),
                SD_VARLINK_DEFINE_INPUT(hostTree, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("\"overlay\" or \"none\"; null: the chroot's default"),
                SD_VARLINK_DEFINE_INPUT(unionType, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("/var/cache/apt/archives shares the chroot's downloaded packages"),
                SD_VARLINK_DEFINE_INPUT(packageCache, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("Boot the tree's own init as PID 1; a chroot with boot=true boots anyway"),
                SD_VARLINK_DEFINE_INPUT(boot, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("With boot: \"none\" (only lo; null: none) or \"host\""),
                SD_VARLINK_DEFINE_INPUT(network, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_OUTPUT(id, SD_VARLINK_STRING, 0));

static SD_VARLINK_DEFINE_METHOD(
                EndSession,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0));

static SD_VARLINK_DEFINE_METHOD(
                DiscardSession,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0));

static SD_VARLINK_DEFINE_METHOD(
                GetSession,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_DEFINE_OUTPUT_BY_TYPE(session, Session, 0));

static SD_VARLINK_DEFINE_METHOD(
                CollectGarbage,
                SD_VARLINK_FIELD_COMMENT("The cached bases removed"),
                SD_VARLINK_DEFINE_OUTPUT(removed, SD_VARLINK_STRING, SD_VARLINK_ARRAY));

/* Run's and Start's command and options. */
#define VL_RUN_INPUTS                                                                                          \
        SD_VARLINK_FIELD_COMMENT("The session"),                                                               \
        SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),                                                     \
        SD_VARLINK_FIELD_COMMENT("The command; null or []: the user's login shell"),                           \
        SD_VARLINK_DEFINE_INPUT(argv, SD_VARLINK_STRING, SD_VARLINK_ARRAY|SD_VARLINK_NULLABLE),                \
        SD_VARLINK_FIELD_COMMENT("In the chroot's /etc/passwd; null: root"),                                   \
        SD_VARLINK_DEFINE_INPUT(user, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),                                 \
        SD_VARLINK_FIELD_COMMENT("Inside the chroot; null: /"),                                                \
        SD_VARLINK_DEFINE_INPUT(directory, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),                            \
        SD_VARLINK_FIELD_COMMENT("\"host\" or \"none\" (only lo); null: host"),                                \
        SD_VARLINK_DEFINE_INPUT(network, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),                              \
        SD_VARLINK_FIELD_COMMENT("Microseconds, then it is killed; null or 0: never"),                         \
        SD_VARLINK_DEFINE_INPUT(timeout, SD_VARLINK_INT, SD_VARLINK_NULLABLE),                                 \
        SD_VARLINK_FIELD_COMMENT("The whole environment (KEY=VALUE); null: a clean one"),                      \
        SD_VARLINK_DEFINE_INPUT(environment, SD_VARLINK_STRING, SD_VARLINK_ARRAY|SD_VARLINK_NULLABLE),         \
        SD_VARLINK_FIELD_COMMENT("KEY=VALUE set last, over the environment"),                                  \
        SD_VARLINK_DEFINE_INPUT(setenv, SD_VARLINK_STRING, SD_VARLINK_ARRAY|SD_VARLINK_NULLABLE),              \
        SD_VARLINK_FIELD_COMMENT("Index of a file descriptor passed with the call; null: /dev/null"),          \
        SD_VARLINK_DEFINE_INPUT(stdin, SD_VARLINK_INT, SD_VARLINK_NULLABLE),                                   \
        SD_VARLINK_DEFINE_INPUT(stdout, SD_VARLINK_INT, SD_VARLINK_NULLABLE),                                  \
        SD_VARLINK_DEFINE_INPUT(stderr, SD_VARLINK_INT, SD_VARLINK_NULLABLE)

static SD_VARLINK_DEFINE_METHOD_FULL(
                Run,
                SD_VARLINK_SUPPORTS_MORE,
                VL_RUN_INPUTS,
                SD_VARLINK_FIELD_COMMENT("With more: a reply that continues once its init has the command,"),
                SD_VARLINK_FIELD_COMMENT("with the init's pid and its scope (null without one); errors"),
                SD_VARLINK_FIELD_COMMENT("before exec (NoSuchUser, ExecFailed...) come after it"),
                SD_VARLINK_DEFINE_OUTPUT(pid, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_OUTPUT(unit, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("The last reply: \"exited\" with the exit status,"),
                SD_VARLINK_FIELD_COMMENT("\"killed\" with the signal, or \"timeout\" (value 9)"),
                SD_VARLINK_DEFINE_OUTPUT(result, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_OUTPUT(value, SD_VARLINK_INT, SD_VARLINK_NULLABLE));

static SD_VARLINK_DEFINE_METHOD_FULL(
                Start,
                SD_VARLINK_SUPPORTS_MORE,
                VL_RUN_INPUTS,
                SD_VARLINK_FIELD_COMMENT("A terminal made inside the command's namespaces: its stdin,"),
                SD_VARLINK_FIELD_COMMENT("stdout, stderr and controlling terminal (no stdin, stdout or"),
                SD_VARLINK_FIELD_COMMENT("stderr then); null: none"),
                SD_VARLINK_DEFINE_INPUT(pty, SD_VARLINK_BOOL, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("With pty: its first window size, 0..65535; null: 0"),
                SD_VARLINK_DEFINE_INPUT(ptyRows, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_INPUT(ptyColumns, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("Once it has started (with more: a reply that continues): its"),
                SD_VARLINK_FIELD_COMMENT("number in the session, for WaitCommand and the others"),
                SD_VARLINK_DEFINE_OUTPUT(command, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("Its init, as the service sees it (0 in a booted session)"),
                SD_VARLINK_DEFINE_OUTPUT(pid, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("Its scope; null without one"),
                SD_VARLINK_DEFINE_OUTPUT(unit, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("With pty: index of its terminal's master, passed with the reply"),
                SD_VARLINK_DEFINE_OUTPUT(terminal, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_FIELD_COMMENT("With more, the last reply: as Run's"),
                SD_VARLINK_DEFINE_OUTPUT(result, SD_VARLINK_STRING, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_OUTPUT(value, SD_VARLINK_INT, SD_VARLINK_NULLABLE));

static SD_VARLINK_DEFINE_METHOD(
                WaitCommand,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("Start's command number"),
                SD_VARLINK_DEFINE_INPUT(command, SD_VARLINK_INT, 0),
                SD_VARLINK_FIELD_COMMENT("As Run's last reply"),
                SD_VARLINK_DEFINE_OUTPUT(result, SD_VARLINK_STRING, 0),
                SD_VARLINK_DEFINE_OUTPUT(value, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(
                KillCommand,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_DEFINE_INPUT(command, SD_VARLINK_INT, 0),
                SD_VARLINK_FIELD_COMMENT("Sent to every process of the command"),
                SD_VARLINK_DEFINE_INPUT(signal, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(
                ResizeCommand,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_DEFINE_INPUT(command, SD_VARLINK_INT, 0),
                SD_VARLINK_FIELD_COMMENT("Its terminal's window size, 0..65535 each"),
                SD_VARLINK_DEFINE_INPUT(rows, SD_VARLINK_INT, 0),
                SD_VARLINK_DEFINE_INPUT(columns, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(
                OpenTerminal,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_DEFINE_INPUT(command, SD_VARLINK_INT, 0),
                SD_VARLINK_FIELD_COMMENT("Index of a new descriptor of its terminal's master, passed with the reply"),
                SD_VARLINK_DEFINE_OUTPUT(terminal, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(
                CopyIn,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("Absolute, inside the session: where the stream is extracted"),
                SD_VARLINK_DEFINE_INPUT(path, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("Index of the descriptor passed with the call that has the tar stream"),
                SD_VARLINK_DEFINE_INPUT(tar, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(
                CopyOut,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("Absolute, inside the session: what is packed"),
                SD_VARLINK_DEFINE_INPUT(path, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("Index of the descriptor passed with the call the tar stream goes to"),
                SD_VARLINK_DEFINE_INPUT(tar, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(
                Kill,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("Sent to every process of every command of the session"),
                SD_VARLINK_DEFINE_INPUT(signal, SD_VARLINK_INT, 0));

static SD_VARLINK_DEFINE_METHOD(
                SetLimits,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("As for BeginSession; null: unchanged (one must be set)"),
                SD_VARLINK_DEFINE_INPUT(memoryMax, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_INPUT(tasksMax, SD_VARLINK_INT, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_INPUT(cpuWeight, SD_VARLINK_INT, SD_VARLINK_NULLABLE));

static SD_VARLINK_DEFINE_METHOD(
                Reboot,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0));

static SD_VARLINK_DEFINE_METHOD(
                ReadConsoleLog,
                SD_VARLINK_DEFINE_INPUT(id, SD_VARLINK_STRING, 0),
                SD_VARLINK_FIELD_COMMENT("Its last 64 KiB, from a line's start; what is not UTF-8 is U+FFFD"),
                SD_VARLINK_DEFINE_OUTPUT(log, SD_VARLINK_STRING, 0));

static SD_VARLINK_DEFINE_METHOD_FULL(
                Subscribe,
                SD_VARLINK_REQUIRES_MORE,
                SD_VARLINK_FIELD_COMMENT("\"subscribed\" first, with every session in sessions;"),
                SD_VARLINK_FIELD_COMMENT("then \"added\", \"state\", \"removed\" and \"progress\""),
                SD_VARLINK_FIELD_COMMENT("(while one prepares), each with that session"),
                SD_VARLINK_DEFINE_OUTPUT(event, SD_VARLINK_STRING, 0),
                SD_VARLINK_DEFINE_OUTPUT_BY_TYPE(session, Session, SD_VARLINK_NULLABLE),
                SD_VARLINK_DEFINE_OUTPUT_BY_TYPE(sessions, Session, SD_VARLINK_ARRAY|SD_VARLINK_NULLABLE));

/* ---- errors: ErrorKind's names (errors.h), each with the core's message ---- */

#define DEFINE_ERROR(name) \
        static SD_VARLINK_DEFINE_ERROR(name, SD_VARLINK_DEFINE_FIELD(message, SD_VARLINK_STRING, 0))

DEFINE_ERROR(Failed);
DEFINE_ERROR(NoSuchChroot);
DEFINE_ERROR(NoSuchSession);
DEFINE_ERROR(SessionExists);
DEFINE_ERROR(InvalidName);
DEFINE_ERROR(InvalidArgument);
DEFINE_ERROR(NoSubordinateIds);
DEFINE_ERROR(SourceUnavailable);
DEFINE_ERROR(UnsafeArchive);
DEFINE_ERROR(NotReady);
DEFINE_ERROR(NoSuchUser);
DEFINE_ERROR(NoSuchDirectory);
DEFINE_ERROR(ExecFailed);
DEFINE_ERROR(SessionEnded);
DEFINE_ERROR(AccessDenied);
DEFINE_ERROR(LimitExceeded);
DEFINE_ERROR(NotSupported);
DEFINE_ERROR(NoSuchFile);
/* The front end's own, as D-Bus's UnknownObject is the bus's: no ErrorKind has it. */
DEFINE_ERROR(NoSuchCommand);

SD_VARLINK_DEFINE_INTERFACE(
                org_chrootd_Manager,
                VARLINK_INTERFACE,
                SD_VARLINK_INTERFACE_COMMENT("chrootd: unprivileged chroot sessions, for the service's own user only."),
                SD_VARLINK_INTERFACE_COMMENT("The same operations, options and errors as org.chrootd1 on D-Bus,"),
                SD_VARLINK_INTERFACE_COMMENT("with names in lowerCamelCase (memory-max there is memoryMax here)."),
                SD_VARLINK_INTERFACE_COMMENT("Wrong types and unknown fields are org.varlink.service.InvalidParameter;"),
                SD_VARLINK_INTERFACE_COMMENT("values the service refuses are InvalidArgument, as on D-Bus."),
                SD_VARLINK_SYMBOL_COMMENT("A chroot: where a session's tree comes from"),
                &vl_type_Chroot,
                SD_VARLINK_SYMBOL_COMMENT("A command running in a session"),
                &vl_type_Command,
                SD_VARLINK_SYMBOL_COMMENT("A session: a private, disposable copy of a chroot"),
                &vl_type_Session,
                SD_VARLINK_SYMBOL_COMMENT("Tarballs in ~/.cache/sbuild and definitions in chroots.d"),
                &vl_method_ListChroots,
                &vl_method_ListSessions,
                SD_VARLINK_SYMBOL_COMMENT("Make a session; the reply comes once its tree is ready"),
                &vl_method_BeginSession,
                SD_VARLINK_SYMBOL_COMMENT("Kill its commands, remove the tree; the reply comes once it is gone"),
                &vl_method_EndSession,
                SD_VARLINK_SYMBOL_COMMENT("As EndSession, without writing a write-back session back"),
                &vl_method_DiscardSession,
                &vl_method_GetSession,
                SD_VARLINK_SYMBOL_COMMENT("Remove cached bases no session uses"),
                &vl_method_CollectGarbage,
                SD_VARLINK_SYMBOL_COMMENT("Run a command in fresh namespaces, with the caller's stdio"),
                SD_VARLINK_SYMBOL_COMMENT("(the descriptors passed with the call that stdin, stdout and"),
                SD_VARLINK_SYMBOL_COMMENT("stderr name; any other passed descriptor is closed unused)"),
                &vl_method_Run,
                SD_VARLINK_SYMBOL_COMMENT("Start a command as Run does (but with a terminal if asked), answered"),
                SD_VARLINK_SYMBOL_COMMENT("once it has started; with more, also once it has ended. What became"),
                SD_VARLINK_SYMBOL_COMMENT("of it is kept until WaitCommand reads it or the session ends"),
                &vl_method_Start,
                SD_VARLINK_SYMBOL_COMMENT("Wait for a started command's end; its result is forgotten then"),
                &vl_method_WaitCommand,
                SD_VARLINK_SYMBOL_COMMENT("Signal a started command"),
                &vl_method_KillCommand,
                SD_VARLINK_SYMBOL_COMMENT("Resize a started command's terminal (it gets SIGWINCH)"),
                &vl_method_ResizeCommand,
                SD_VARLINK_SYMBOL_COMMENT("The master of a started command's terminal, to relay; also after"),
                SD_VARLINK_SYMBOL_COMMENT("its end (what it wrote last is still there)"),
                &vl_method_OpenTerminal,
                SD_VARLINK_SYMBOL_COMMENT("Extract a tar stream into the session as root inside; the reply"),
                SD_VARLINK_SYMBOL_COMMENT("comes once it is in (owners as inside, symlinks resolved inside)"),
                &vl_method_CopyIn,
                SD_VARLINK_SYMBOL_COMMENT("Pack a path of the session as a tar stream; the reply comes once"),
                SD_VARLINK_SYMBOL_COMMENT("all of it is written"),
                &vl_method_CopyOut,
                SD_VARLINK_SYMBOL_COMMENT("Signal everything running in a session"),
                &vl_method_Kill,
                SD_VARLINK_SYMBOL_COMMENT("Change a session's limits; the reply comes once they apply"),
                &vl_method_SetLimits,
                SD_VARLINK_SYMBOL_COMMENT("Reboot a booted session's system (boot it if it is off);"),
                SD_VARLINK_SYMBOL_COMMENT("the reply comes at once, bootState shows the progress"),
                &vl_method_Reboot,
                SD_VARLINK_SYMBOL_COMMENT("The end of a booted session's console log (this boot's,"),
                SD_VARLINK_SYMBOL_COMMENT("and the one before it from \"----- reboot -----\" on)"),
                &vl_method_ReadConsoleLog,
                SD_VARLINK_SYMBOL_COMMENT("Follow the sessions as they come, change and go"),
                &vl_method_Subscribe,
                &vl_error_Failed,
                &vl_error_NoSuchChroot,
                &vl_error_NoSuchSession,
                &vl_error_SessionExists,
                &vl_error_InvalidName,
                &vl_error_InvalidArgument,
                &vl_error_NoSubordinateIds,
                &vl_error_SourceUnavailable,
                &vl_error_UnsafeArchive,
                &vl_error_NotReady,
                &vl_error_NoSuchUser,
                &vl_error_NoSuchDirectory,
                &vl_error_ExecFailed,
                &vl_error_SessionEnded,
                SD_VARLINK_SYMBOL_COMMENT("The caller is not the service's user"),
                &vl_error_AccessDenied,
                &vl_error_LimitExceeded,
                &vl_error_NotSupported,
                SD_VARLINK_SYMBOL_COMMENT("A copy's path is not in the session"),
                &vl_error_NoSuchFile,
                SD_VARLINK_SYMBOL_COMMENT("No command of the session has that number (or its result was read)"),
                &vl_error_NoSuchCommand);
