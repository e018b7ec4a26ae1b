"""Run a command and record its CPU time and peak resident size, measured from a small parent.

    python bench/measure.py OUT.json COMMAND [ARGS...]

Why a separate launcher: Linux charges a child's peak RSS with the memory of
the process it was forked from until it calls exec (even with vfork), so a
tool started straight from the benchmark process (which hosts the sandbox,
a few hundred MB) would be reported as big as the sandbox. Started from this
launcher (~10 MB, stdlib only) the figure is the tool's own: for the kubectl
loop, the largest of bash and its kubectl processes; for our engine, its process.

Writes {"exit": N, "cpu_s": user+system of COMMAND and its waited-for children, "peak_rss_mb": ...}
to OUT.json and exits with COMMAND's exit code. Standard streams are inherited.
"""

import json
import os
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        sys.stderr.write(__doc__ or "")
        return 2
    out, command = argv[1], argv[2:]
    pid = os.fork()
    if pid == 0:  # the child: become COMMAND
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"exit": code, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024.0},
                  handle)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
