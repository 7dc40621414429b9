/*
 * writ_sudo.so: Writ's sudo approval plugin (writ_approval) and audit plugin (writ_audit), one shared object.
 *
 * For invoking users in the agent group (plugin option group=, default writ-agents), the approval plugin sends the
 * capability token from the user's environment (WRIT_SUDO_TOKEN, never argv), the run-as user, the resolved command
 * and the exact argv as a vector of length-prefixed strings to the `writ host agent` daemon over its root-only Unix
 * socket (socket=, default /run/writ/host-agent.sock) and runs the command only on an explicit allow. Everything else
 * (daemon down, timeout, malformed reply, anything unexpected) refuses: fail closed. root and users outside the group
 * are approved without contacting anything, so sudoers alone decides for them.
 *
 * The audit plugin holds the run's audit channel open while the command runs: on sudo's final accept it opens a
 * session to the daemon (one more connection, kept open, watched in sudo's own event loop). If that connection ends
 * or the daemon writes to it (a revocation covering the token), the plugin breaks sudo's event loop and sudo ends the
 * command (SIGHUP, SIGTERM, then SIGKILL): a run that can no longer be recorded does not go on (SUDO-05). When sudo
 * closes it reports the exit status or signal. Both structures live in one object, which sudo dlopens once, so the
 * report id the approval step received is visible to the audit step (plain static state; nothing here runs in
 * signal context).
 *
 * The daemon does all the verifying; this file only moves bytes, with a bound on every length.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sudo_plugin.h>

#define WRIT_EXPORT __attribute__((visibility("default")))

#define TOKEN_ENV "WRIT_SUDO_TOKEN="
#define MAX_TOKEN 16384            /* a capability token is a few hundred bytes; anything near this is hostile */
#define MAX_REQUEST (256 * 1024)   /* the whole request frame; the token's argv is capped far lower at mint */
#define MAX_REPLY 4096
#define MAX_NAME 256
#define IO_TIMEOUT_SECONDS 5
#define MAX_GROUPS 1024

static sudo_printf_t plugin_printf;
static char agent_group[MAX_NAME] = "writ-agents";
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)] = "/run/writ/host-agent.sock";
static char invoking_user[MAX_NAME];
static char invoking_cwd[PATH_MAX];
static uid_t invoking_uid = (uid_t)-1;
static int is_agent;
static const char *token;          /* points into sudo's submit_envp, valid until close */
static size_t token_length;
static int token_present;
static char report_id[128];         /* set by an allow; the audit plugin completes that report */
static int session_fd = -1;         /* the run's audit channel to the daemon, open while the command runs */
static struct sudo_plugin_event *session_event;

typedef struct sudo_plugin_event *(*sudo_plugin_event_alloc_fn)(void);
static sudo_plugin_event_alloc_fn writ_audit_event_alloc(void);

/* ---- small helpers --------------------------------------------------------------------------------------- */

static const char *find_value(char * const list[], const char *key)
{
    size_t key_length = strlen(key);
    if (list == NULL) return NULL;
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strncmp(list[i], key, key_length) == 0 && list[i][key_length] == '=') return list[i] + key_length + 1;
    }
    return NULL;
}

static int copy_bounded(char *out, size_t size, const char *in)
{
    size_t length = strlen(in);
    if (length == 0 || length >= size) return -1;
    memcpy(out, in, length + 1);
    return 0;
}

static int parse_id(const char *text, unsigned long *out)
{
    char *end = NULL;
    if (text == NULL || *text == '\0' || *text == '-') return -1;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || end == NULL || *end != '\0' || value > UINT_MAX - 1) return -1;
    *out = value;
    return 0;
}

static void refuse_message(const char *reason)
{
    /* Only printable ASCII reaches the terminal, whatever the daemon sent. */
    char clean[512];
    size_t n = 0;
    for (size_t i = 0; reason[i] != '\0' && n + 1 < sizeof(clean); i++) {
        unsigned char c = (unsigned char)reason[i];
        clean[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    clean[n] = '\0';
    if (plugin_printf != NULL) plugin_printf(SUDO_CONV_ERROR_MSG, "writ: sudo refused: %s\n", clean);
}

/* Membership from the group database and from the process's own groups: either one makes the user an agent, so a
 * stale login session cannot escape the check, and a freshly added member is covered at once. */
static int in_agent_group(const char *user, gid_t primary_gid, const char *process_groups)
{
    struct group *group = getgrnam(agent_group);
    if (group == NULL) return 0;
    gid_t agent_gid = group->gr_gid;
    if (primary_gid == agent_gid) return 1;
    for (char **member = group->gr_mem; member != NULL && *member != NULL; member++) {
        if (strcmp(*member, user) == 0) return 1;
    }
    gid_t groups[MAX_GROUPS];
    int count = MAX_GROUPS;
    if (getgrouplist(user, primary_gid, groups, &count) == -1) return 1; /* cannot tell: treat as an agent */
    for (int i = 0; i < count; i++) if (groups[i] == agent_gid) return 1;
    if (process_groups != NULL) {
        const char *p = process_groups;
        while (*p != '\0') {
            char *end = NULL;
            errno = 0;
            unsigned long gid = strtoul(p, &end, 10);
            if (errno != 0 || end == p) return 1; /* malformed: fail towards checking */
            if ((gid_t)gid == agent_gid) return 1;
            if (*end == ',') p = end + 1; else if (*end == '\0') break; else return 1;
        }
    }
    return 0;
}

/* ---- wire: [u32 length][kind byte][fields: u32 length + bytes]... ---------------------------------------- */

struct frame {
    unsigned char *data;
    size_t length;
    size_t capacity;
    int overflow;
};

static void put_u32(unsigned char *at, uint32_t value)
{
    at[0] = (unsigned char)(value >> 24); at[1] = (unsigned char)(value >> 16);
    at[2] = (unsigned char)(value >> 8); at[3] = (unsigned char)value;
}

static uint32_t get_u32(const unsigned char *at)
{
    return ((uint32_t)at[0] << 24) | ((uint32_t)at[1] << 16) | ((uint32_t)at[2] << 8) | (uint32_t)at[3];
}

static void frame_bytes(struct frame *f, const void *bytes, size_t length)
{
    if (f->overflow || length > MAX_REQUEST || f->length + length > f->capacity) { f->overflow = 1; return; }
    memcpy(f->data + f->length, bytes, length);
    f->length += length;
}

static void frame_field(struct frame *f, const char *value, size_t length)
{
    unsigned char prefix[4];
    if (length > MAX_REQUEST) { f->overflow = 1; return; }
    put_u32(prefix, (uint32_t)length);
    frame_bytes(f, prefix, 4);
    frame_bytes(f, value, length);
}

static int write_all(int fd, const unsigned char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, unsigned char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = recv(fd, data, length, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Connects to the daemon's socket with bounded send and receive times. Close-on-exec: the command never holds it. */
static int connect_to_agent(void)
{
    struct sockaddr_un address;
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    if (strlen(socket_path) >= sizeof(address.sun_path)) return -1;
    memcpy(address.sun_path, socket_path, strlen(socket_path) + 1);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval timeout = { IO_TIMEOUT_SECONDS, 0 };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) != 0 ||
        connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one frame on `fd` and reads one reply into `reply` (at most MAX_REPLY bytes). Returns the reply length or -1. */
static long send_and_read(int fd, const struct frame *f, unsigned char *reply)
{
    unsigned char prefix[4];
    unsigned char header[4];
    put_u32(prefix, (uint32_t)f->length);
    if (write_all(fd, prefix, 4) != 0 || write_all(fd, f->data, f->length) != 0 || read_all(fd, header, 4) != 0) return -1;
    uint32_t length = get_u32(header);
    if (length < 1 || length > MAX_REPLY || read_all(fd, reply, length) != 0) return -1;
    return (long)length;
}

/* One request, one reply, on a connection of its own. */
static long exchange(const struct frame *f, unsigned char *reply)
{
    int fd = connect_to_agent();
    if (fd < 0) return -1;
    long result = send_and_read(fd, f, reply);
    close(fd);
    return result;
}

/* Reads field `index` (0-based) of a reply body starting after the kind byte into `out` (NUL-terminated). */
static int reply_field(const unsigned char *reply, size_t length, int index, char *out, size_t size)
{
    size_t at = 1;
    for (int i = 0; ; i++) {
        if (at + 4 > length) return -1;
        uint32_t n = get_u32(reply + at);
        at += 4;
        if (n > length - at) return -1;
        if (i == index) {
            if (n >= size || memchr(reply + at, '\0', n) != NULL) return -1;
            memcpy(out, reply + at, n);
            out[n] = '\0';
            return 0;
        }
        at += n;
    }
}

/* ---- approval plugin --------------------------------------------------------------------------------------- */

static int parse_options(char * const plugin_options[])
{
    for (size_t i = 0; plugin_options != NULL && plugin_options[i] != NULL; i++) {
        const char *option = plugin_options[i];
        if (strncmp(option, "group=", 6) == 0) {
            if (copy_bounded(agent_group, sizeof(agent_group), option + 6) != 0) return -1;
        } else if (strncmp(option, "socket=", 7) == 0) {
            if (option[7] != '/' || copy_bounded(socket_path, sizeof(socket_path), option + 7) != 0) return -1;
        } else {
            return -1; /* an unknown option is a typo in sudo.conf; refusing to load beats ignoring it */
        }
    }
    return 0;
}

static int common_open(char * const user_info[], char * const submit_envp[], char * const plugin_options[],
    sudo_printf_t printf_fn, const char **errstr)
{
    plugin_printf = printf_fn;
    if (parse_options(plugin_options) != 0) {
        if (errstr != NULL) *errstr = "writ: bad plugin options in sudo.conf (group=, socket=)";
        return -1;
    }
    const char *user = find_value(user_info, "user");
    const char *cwd = find_value(user_info, "cwd");
    unsigned long uid = 0, gid = 0;
    if (user == NULL || parse_id(find_value(user_info, "uid"), &uid) != 0 || parse_id(find_value(user_info, "gid"), &gid) != 0 ||
        copy_bounded(invoking_user, sizeof(invoking_user), user) != 0) {
        if (errstr != NULL) *errstr = "writ: cannot read the invoking user";
        return -1;
    }
    if (cwd == NULL || copy_bounded(invoking_cwd, sizeof(invoking_cwd), cwd) != 0) strcpy(invoking_cwd, "?");
    invoking_uid = (uid_t)uid;
    is_agent = invoking_uid != 0 && in_agent_group(invoking_user, (gid_t)gid, find_value(user_info, "groups"));
    token = NULL;
    token_length = 0;
    token_present = 0;
    for (size_t i = 0; is_agent && submit_envp != NULL && submit_envp[i] != NULL; i++) {
        if (strncmp(submit_envp[i], TOKEN_ENV, sizeof(TOKEN_ENV) - 1) == 0) {
            token = submit_envp[i] + sizeof(TOKEN_ENV) - 1;
            token_length = strnlen(token, MAX_TOKEN + 1);
            token_present = 1;
        }
    }
    return 1;
}

static int approval_open(unsigned int version, sudo_conv_t conversation, sudo_printf_t printf_fn,
    char * const settings[], char * const user_info[], int submit_optind, char * const submit_argv[],
    char * const submit_envp[], char * const plugin_options[], const char **errstr)
{
    (void)version; (void)conversation; (void)settings; (void)submit_optind; (void)submit_argv;
    return common_open(user_info, submit_envp, plugin_options, printf_fn, errstr);
}

static void approval_close(void)
{
}

static int deny(const char *reason, const char **errstr)
{
    refuse_message(reason);
    if (errstr != NULL) *errstr = "writ: refused";
    return 0;
}

static int approval_check(char * const command_info[], char * const run_argv[], char * const run_envp[], const char **errstr)
{
    (void)run_envp;
    report_id[0] = '\0';
    if (!is_agent) return 1;
    if (!token_present || token_length == 0) return deny("no capability token (set WRIT_SUDO_TOKEN; see `writ sudo token`)", errstr);
    if (token_length > MAX_TOKEN) return deny("the capability token is too large", errstr);

    const char *command = find_value(command_info, "command");
    const char *sudoedit = find_value(command_info, "sudoedit");
    const char *euid_text = find_value(command_info, "runas_euid");
    const char *egid_text = find_value(command_info, "runas_egid");
    if (euid_text == NULL) euid_text = find_value(command_info, "runas_uid");
    if (egid_text == NULL) egid_text = find_value(command_info, "runas_gid");
    unsigned long runas_uid = 0, runas_gid = 0;
    if (command == NULL || run_argv == NULL || run_argv[0] == NULL ||
        parse_id(euid_text, &runas_uid) != 0 || parse_id(egid_text, &runas_gid) != 0) {
        return deny("sudo did not describe the command", errstr);
    }
    if (sudoedit != NULL && strcmp(sudoedit, "true") == 0) return deny("sudoedit is not available to agents", errstr);
    struct passwd *runas = getpwuid((uid_t)runas_uid);
    if (runas == NULL || strlen(runas->pw_name) >= MAX_NAME) return deny("the run-as user has no name", errstr);
    /* The token names a user, not a group: -g would run with privileges the approver never saw. */
    if ((gid_t)runas_gid != runas->pw_gid) return deny("a run-as group (-g) is not available to agents", errstr);

    struct frame f = { malloc(MAX_REQUEST), 0, MAX_REQUEST, 0 };
    if (f.data == NULL) return deny("out of memory", errstr);
    const char kind = 'C';
    frame_bytes(&f, &kind, 1);
    frame_field(&f, token, token_length);
    frame_field(&f, invoking_user, strlen(invoking_user));
    frame_field(&f, invoking_cwd, strlen(invoking_cwd));
    frame_field(&f, runas->pw_name, strlen(runas->pw_name));
    frame_field(&f, command, strlen(command));
    /* This sudo process stays the command's parent: the daemon signals it when a revocation covers the token. */
    char pid_text[32];
    snprintf(pid_text, sizeof(pid_text), "%ld", (long)getpid());
    frame_field(&f, pid_text, strlen(pid_text));
    for (size_t i = 0; run_argv[i] != NULL; i++) frame_field(&f, run_argv[i], strlen(run_argv[i]));
    if (f.overflow) {
        free(f.data);
        return deny("the command line is too long", errstr);
    }
    unsigned char reply[MAX_REPLY];
    long length = exchange(&f, reply);
    free(f.data);
    if (length < 0) return deny("the writ host agent is not answering", errstr);
    char message[512];
    if (reply_field(reply, (size_t)length, 0, message, sizeof(message)) != 0) return deny("malformed answer from the writ host agent", errstr);
    if (reply[0] == 'A') {
        if (reply_field(reply, (size_t)length, 1, report_id, sizeof(report_id)) != 0 || report_id[0] == '\0') {
            report_id[0] = '\0';
            return deny("malformed answer from the writ host agent", errstr);
        }
        return 1;
    }
    return deny(reply[0] == 'D' ? message : "malformed answer from the writ host agent", errstr);
}

static int approval_show_version(int verbose)
{
    (void)verbose;
    if (plugin_printf != NULL) plugin_printf(SUDO_CONV_INFO_MSG, "writ approval plugin 1\n");
    return 1;
}

WRIT_EXPORT struct approval_plugin writ_approval = {
    SUDO_APPROVAL_PLUGIN,
    SUDO_API_VERSION,
    approval_open,
    approval_close,
    approval_check,
    approval_show_version,
};

/* ---- audit plugin ------------------------------------------------------------------------------------------ */

static int audit_open(unsigned int version, sudo_conv_t conversation, sudo_printf_t printf_fn,
    char * const settings[], char * const user_info[], int submit_optind, char * const submit_argv[],
    char * const submit_envp[], char * const plugin_options[], const char **errstr)
{
    (void)version; (void)conversation; (void)settings; (void)submit_optind; (void)submit_argv;
    (void)submit_envp; (void)user_info; (void)errstr;
    /* Options are read by the approval side; the audit side only needs the socket path, given the same way. */
    if (parse_options(plugin_options) != 0) {
        if (errstr != NULL) *errstr = "writ: bad plugin options in sudo.conf (group=, socket=)";
        return -1;
    }
    if (plugin_printf == NULL) plugin_printf = printf_fn;
    return 1;
}

/* ---- the run's audit channel (SUDO-05) ---------------------------------------------------------------------- */

static void end_session(void)
{
    if (session_event != NULL) {
        session_event->del(session_event);
        session_event->free(session_event);
        session_event = NULL;
    }
    if (session_fd >= 0) {
        close(session_fd);
        session_fd = -1;
    }
}

/* Runs in sudo's event loop while the command runs. The daemon never writes on a session except to end the run, and a
 * closed session means the run can no longer be recorded: either way the loop is broken and sudo ends the command. */
static void session_callback(int fd, int what, void *closure)
{
    (void)what; (void)closure;
    unsigned char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    refuse_message(n > 0 ? "the capability was revoked; the command is ended"
                         : "the writ host agent went away, so the run can no longer be recorded; the command is ended");
    struct sudo_plugin_event *event = session_event;
    if (event != NULL) {
        event->del(event);
        event->loopbreak(event);
    }
}

/* Opens the session for the allowed run and watches it from sudo's event loop; any failure refuses the run. */
static int open_session(const char **errstr)
{
    if (writ_audit_event_alloc() == NULL) return deny("this sudo cannot watch the audit channel (plugin API < 1.17)", errstr);
    unsigned char buffer[512];
    struct frame f = { buffer, 0, sizeof(buffer), 0 };
    const char kind = 'S';
    frame_bytes(&f, &kind, 1);
    frame_field(&f, report_id, strlen(report_id));
    unsigned char reply[MAX_REPLY];
    int fd = connect_to_agent();
    long length = fd < 0 || f.overflow ? -1 : send_and_read(fd, &f, reply);
    if (length < 1 || reply[0] != 'K') {
        if (fd >= 0) close(fd);
        return deny(length < 0 ? "the writ host agent is not answering" : "the writ host agent did not open the run's audit channel", errstr);
    }
    session_fd = fd;
    session_event = writ_audit_event_alloc()();
    if (session_event == NULL ||
        session_event->set(session_event, session_fd, SUDO_PLUGIN_EV_READ | SUDO_PLUGIN_EV_PERSIST, session_callback, NULL) != 1 ||
        session_event->add(session_event, NULL) != 1) {
        end_session();
        return deny("cannot watch the run's audit channel", errstr);
    }
    return 1;
}

static int audit_accept(const char *plugin_name, unsigned int plugin_type, char * const command_info[],
    char * const run_argv[], char * const run_envp[], const char **errstr)
{
    (void)plugin_name; (void)command_info; (void)run_argv; (void)run_envp;
    /* The front end's accept is the last word before sudo runs the command; earlier accepts are the plugins'. */
    if (plugin_type != SUDO_FRONT_END || report_id[0] == '\0' || session_fd >= 0) return 1;
    return open_session(errstr);
}

static void audit_close(int status_type, int status)
{
    end_session();
    if (report_id[0] == '\0') return;
    const char *kind = "none";
    char value[32] = "0";
    if (status_type == SUDO_PLUGIN_WAIT_STATUS) {
        if (WIFEXITED(status)) { kind = "exit"; snprintf(value, sizeof(value), "%d", WEXITSTATUS(status)); }
        else if (WIFSIGNALED(status)) { kind = "signal"; snprintf(value, sizeof(value), "%d", WTERMSIG(status)); }
    } else if (status_type == SUDO_PLUGIN_EXEC_ERROR) {
        kind = "error";
        snprintf(value, sizeof(value), "%d", status);
    }
    unsigned char buffer[512];
    struct frame f = { buffer, 0, sizeof(buffer), 0 };
    const char end = 'E';
    frame_bytes(&f, &end, 1);
    frame_field(&f, report_id, strlen(report_id));
    frame_field(&f, kind, strlen(kind));
    frame_field(&f, value, strlen(value));
    unsigned char reply[MAX_REPLY];
    /* Best effort: the daemon already holds a durable "started" report and completes it on its own if this fails. */
    if (!f.overflow) (void)exchange(&f, reply);
    report_id[0] = '\0';
}

static int audit_show_version(int verbose)
{
    (void)verbose;
    if (plugin_printf != NULL) plugin_printf(SUDO_CONV_INFO_MSG, "writ audit plugin 1\n");
    return 1;
}

WRIT_EXPORT struct audit_plugin writ_audit = {
    SUDO_AUDIT_PLUGIN,
    SUDO_API_VERSION,
    audit_open,
    audit_close,
    audit_accept,
    NULL, /* reject */
    NULL, /* error */
    audit_show_version,
    NULL, /* register_hooks */
    NULL, /* deregister_hooks */
    NULL, /* event_alloc: filled in by sudo */
};

static sudo_plugin_event_alloc_fn writ_audit_event_alloc(void)
{
    return writ_audit.event_alloc;
}
