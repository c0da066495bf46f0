"""Start-up alone, for comparing builds of the function: spawn to the process's first connection to
a loopback Runtime API, with nothing fetched during INIT (`WRAPUP_INIT_PREFETCH_SECONDS=0`), so
what is measured is the process itself: exec, the loader, and what `main` builds before its first
`/next`. Each build starts RUNS times, in turns (a noisy moment of the host falls on all alike);
printed per build: the median wall time, the median CPU the process had used by its first
connection (all its threads, schedstat) and the median of its minor page faults.

Usage: `python3 scripts/start_up.py RUNS 'label|path/to/binary[|NAME=value NAME=value]' ...`, e.g.
`python3 scripts/start_up.py 41 'before|/tmp/old-bootstrap' 'now|target/release/genesys-wrapup'`.
The perf bench measures the current binary the same way (`cargo bench --bench perf`,
docs/performance.md); this script is for comparing two or more builds, or settings, by hand.
"""

import os
import signal
import socket
import statistics
import sys
import time

ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "wrapup",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_LEVEL": "warn",
    "AWS_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "start-up",
    "AWS_SECRET_ACCESS_KEY": "start-up",
    "AWS_SESSION_TOKEN": "start-up",
    "GENESYS_SECRET_ID": "genesys/wrapup",
    "WRAPUP_INIT_PREFETCH_SECONDS": "0",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    "PATH": "/usr/bin:/bin",
}


def once(binary, extra):
    """One start: (wall ms, CPU ms, minor page faults) at the first connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    env = dict(ENV, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{listener.getsockname()[1]}", **extra)
    devnull = os.open(os.devnull, os.O_WRONLY)
    started = time.perf_counter_ns()
    pid = os.posix_spawn(
        binary,
        [binary],
        env,
        file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)],
    )
    connection, _ = listener.accept()
    wall = (time.perf_counter_ns() - started) / 1e6
    os.kill(pid, signal.SIGSTOP)
    cpu = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            cpu += int(f.read().split()[0])
    with open(f"/proc/{pid}/stat") as f:
        faults = int(f.read().rsplit(")", 1)[1].split()[7])
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    connection.close()
    listener.close()
    os.close(devnull)
    return wall, cpu / 1e6, faults


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = int(sys.argv[1])
    builds = []
    for spec in sys.argv[2:]:
        label, binary, *settings = spec.split("|")
        extra = dict(kv.split("=", 1) for kv in " ".join(settings).split())
        builds.append((label, os.path.abspath(binary), extra))
    results = {label: [] for label, _, _ in builds}
    for _ in range(runs):
        for label, binary, extra in builds:
            results[label].append(once(binary, extra))
    for label, samples in results.items():
        wall, cpu, faults = (statistics.median(column) for column in zip(*samples))
        best = min(s[0] for s in samples)
        print(
            f"{label:24s} wall {wall:.2f} ms (best {best:.2f})  CPU {cpu:.2f} ms  "
            f"minor faults {faults:.0f}"
        )


if __name__ == "__main__":
    main()
