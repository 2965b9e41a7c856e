// Package policy decides which of the user's own processes may do what with
// which credential: an ordered list of rules, each matching a request by
// credential name, operation and the caller's identity, and allowing,
// denying or asking for confirmation. The first rule that matches decides;
// when none does, the default action decides: allow when there are no rules
// at all, deny once there is one, unless the configuration sets
// default_action. [Policy.Decide] is the one function that decides;
// [Policy.Test] runs the same decision for a hypothetical caller.
//
// # Caller criteria
//
// exe matches globs (path.Match: * does not cross /) on the executable path
// the kernel reports in /proc/<pid>/exe, resolved, never on argv[0], which
// the process chooses; a symlink to an allowed binary runs as the binary
// and matches, a copy of it at another path does not. exe_sha256 matches
// the SHA-256 of the binary the process runs, read through /proc/<pid>/exe,
// so it is the content actually executed even if the path was renamed over
// since; the hash counts only while the running binary is still the file at
// its path. parent_exe matches when any ancestor's executable matches,
// walking up to peer.MaxAncestors parents. unit matches the systemd unit of
// the caller from /proc/<pid>/cgroup. uid and gid match the kernel's ids.
//
// agent and skill match labels the caller reports about itself; any process
// can claim any label. They narrow a rule and never identify a caller, so a
// rule that names agent or skill must also name exe, exe_sha256, parent_exe
// or unit, and New rejects it otherwise. uid and gid do not count for this:
// every caller the daemon serves already has the user's uid.
//
// # Unknown evidence
//
// A caller whose executable cannot be read, or whose binary was deleted or
// replaced after it started, is unknown, and so are its hash and ancestry;
// an ancestor whose executable cannot be read (another user's process, a
// deleted binary) is unknown too, and so is a unit that cannot be read. A
// criterion on unknown evidence never lets an allow or confirm rule match,
// so such rules do not grant the caller anything, and always lets a deny
// rule match, so a deny rule cannot be slipped past by hiding. A replaced
// binary stops matching until it is restarted; that includes a package
// upgrade of a running program.
//
// # Cost
//
// Hashing a binary reads it whole. The hash, the ancestry and the unit are
// read only when a rule that reaches them needs them, once per Caller, and
// criteria are checked cheapest first. Hashes are also cached per file
// version (device, inode, size, mtime and ctime); an unprivileged process
// cannot set a file's ctime, and a version is cached only once its ctime is
// older than the clock granularity that could hide a second write, so a
// rewritten binary is always hashed again.
//
// # What same-user code can still do
//
// Rules tell the user's own programs apart, but they all run with the same
// uid, and the kernel lets a process do much to another of its uid:
//
//   - Attach with ptrace (or write /proc/<pid>/mem) to an allowed process
//     and make it ask on its behalf, where Yama allows it: with
//     kernel.yama.ptrace_scope = 0 any same-uid process may, with 1 only an
//     ancestor may (so the attacker can start the allowed program itself).
//     Setting ptrace_scope to 2 (admin only) or 3 (none) closes this.
//   - Start an allowed binary with LD_PRELOAD, or a changed PATH, or a
//     crafted script for an allowed interpreter: exe and exe_sha256 match
//     the interpreter or the binary, not what it was made to do. Pin
//     binaries that cannot be steered this way rather than interpreters, and
//     note that a rule on /usr/bin/python3 allows every Python script.
//   - Overwrite a binary it owns (a tool in ~/.local/bin or ~/go/bin): an
//     exe rule keeps matching the new content. exe_sha256 stops matching;
//     pin the hash, or allow only binaries the user cannot write.
//   - Move itself into another of the user's systemd units: under the user
//     manager the user owns their cgroup subtree, so unit tells user units
//     apart only against accident. A unit of the system manager that runs as
//     the user cannot be entered this way.
//   - Report any agent and skill label.
//
// The strongest separation is a separate uid: a program run under its own
// user cannot trace, preload into or overwrite the user's programs, and the
// kernel's peer check keeps it from the user's daemon altogether.
package policy
