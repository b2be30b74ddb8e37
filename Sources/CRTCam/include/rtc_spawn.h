// Process sources: start a program with its standard output on a pipe, and wait for it. Only what
// Swift cannot do safely: between fork() and exec() the child may run async-signal-safe code only
// (rtcam has threads), and the wait-status macros are function-like.
#ifndef RTC_SPAWN_H
#define RTC_SPAWN_H

#include <sys/types.h>

/// Starts a program. `paths` are the `npaths` files to try in order (the PATH lookup is done by the
/// caller, before fork, so the child only calls execve); `argv` is NULL-terminated; the child gets
/// rtcam's environment.
///
/// The child: stdin is /dev/null, stdout is the write end of a new pipe, stderr is rtcam's; default
/// signal dispositions and an empty signal mask; its own process group (so stopping it reaches a
/// pipeline it starts and terminal signals do not); PR_SET_PDEATHSIG(SIGTERM), so it is told to stop
/// when the thread that started it ends (also when rtcam dies); every other descriptor is closed on
/// exec.
///
/// Returns the child's pid (> 0) and sets *stdout_fd to the read end of the pipe (close-on-exec,
/// non-blocking). On failure returns -1 and sets *error to the errno and *stage to 0 when rtcam
/// could not start a child (pipe, open, fork) or 1 when the child's execve failed for every path
/// (the errno of the most telling attempt, reported through a close-on-exec pipe; the child has
/// then been reaped).
int rtc_spawn(const char *const *paths, int npaths, char *const *argv, int *stdout_fd, int *error, int *stage);

/// waitpid(pid, status, nohang ? WNOHANG : 0), retried after EINTR. Returns its result.
int rtc_waitpid(int pid, int *status, int nohang);

/// For a wait status: the exit code (0-255) if the child exited normally, else -1.
int rtc_wait_exit_code(int status);
/// For a wait status: the signal that killed the child, else 0.
int rtc_wait_signal(int status);

/// kill(-pgid, sig): signals a whole process group. Returns 0 or -1 (errno).
int rtc_kill_group(int pgid, int sig);

#endif
