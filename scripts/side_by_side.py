"""Cold start side by side: the function's deployed binary against Python Lambda functions built on
the official AWS SDK (boto3), on this machine, in turns.

Init is measured as an outside harness sees it: from the moment the process is started to its
first TCP connection (a loopback listener plays the Lambda Runtime API and Secrets Manager, so the
first connection is whichever the process makes first: a secret fetched during INIT, or the first
`/next`). Each contender runs RUNS times, in turns, and the median is reported with the ratio of
each Python contender's median to the binary's.

- `rust`: the binary (`cargo build --release`), as Lambda starts it, with a Genesys secret
  configured (its INIT fetches it: the first connection is that fetch).
- `python-boto3`: the usual Python function: `import boto3` and a Secrets Manager client at module
  level (INIT), then the Runtime API's `/next`.
- `python-lazy`: Python's best case: only the standard library at start-up, boto3 imported by the
  first event (so its cost moves into that event), then `/next`.

Usage: `. scripts/python-env.sh && python_env boto3 && python scripts/side_by_side.py
target/release/genesys-wrapup [RUNS]`.
"""

import os
import socket
import statistics
import subprocess
import sys
import time

PYTHON_BOTO3 = """
import boto3, urllib.request, os
client = boto3.client("secretsmanager")
urllib.request.urlopen("http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/next")
"""

PYTHON_LAZY = """
import urllib.request, os
urllib.request.urlopen("http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/next")
"""


def first_connection_ms(command, env, listener):
    """Starts `command` and returns the milliseconds until it first connects to `listener`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    listener.settimeout(60)
    connection, _ = listener.accept()
    elapsed = (time.perf_counter() - started) * 1e3
    connection.close()
    process.kill()
    process.wait()
    return elapsed


def main():
    binary = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 11
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    address = "127.0.0.1:%d" % listener.getsockname()[1]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": address,
        "AWS_LAMBDA_FUNCTION_NAME": "wrapup",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "side-by-side",
        "AWS_SECRET_ACCESS_KEY": "side-by-side",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://" + address,
        "GENESYS_SECRET_ID": "genesys/wrapup",
        "GENESYS_ENVIRONMENT": "mypurecloud.ie",
    }
    contenders = {
        "rust": [binary],
        "python-boto3": [sys.executable, "-c", PYTHON_BOTO3],
        "python-lazy": [sys.executable, "-c", PYTHON_LAZY],
    }
    times = {name: [] for name in contenders}
    for _ in range(runs):
        for name, command in contenders.items():
            times[name].append(first_connection_ms(command, env, listener))
    rust = statistics.median(times["rust"])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            "%-13s median %8.1f ms  (min %7.1f, max %7.1f)  %6.0fx the binary"
            % (name, median, min(values), max(values), median / rust)
        )


if __name__ == "__main__":
    main()
