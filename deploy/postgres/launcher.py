"""A private PostgreSQL for tests and benchmarks: initdb + pg_ctl in a directory of its own, on a port of its own.

    python3 deploy/postgres/launcher.py up DIR [--port 55432]   # prints the connection URL
    python3 deploy/postgres/launcher.py down DIR

Listens on 127.0.0.1 and a socket in DIR only, trusts local connections (throwaway data), and never touches a
system cluster. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin")


def binary(name: str) -> str | None:
    for folder in BIN_DIRS:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def available() -> bool:
    return all(binary(n) for n in ("initdb", "pg_ctl", "postgres"))


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def url(directory: Path, port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def up(directory: Path, port: int) -> str:
    """Create the cluster if needed, start it, and return its URL once it accepts connections."""
    directory.mkdir(parents=True, exist_ok=True)
    data, socket_dir = directory / "data", directory / "socket"
    socket_dir.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        shutil.chown(socket_dir, "postgres")
    initdb, pg_ctl = binary("initdb"), binary("pg_ctl")
    assert initdb and pg_ctl, "PostgreSQL server binaries not found (Debian: apt-get install postgresql)"
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_server_user([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True,
            capture_output=True,
        )
    options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    log = directory / "postgres.log"
    subprocess.run(
        _as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start"]),
        check=True,
        capture_output=True,
    )
    return url(directory, port)


def down(directory: Path) -> None:
    pg_ctl = binary("pg_ctl")
    data = directory / "data"
    if pg_ctl and (data / "postmaster.pid").exists():
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--port", type=int, default=55432)
    args = parser.parse_args()
    if args.command == "up":
        print(up(args.directory.resolve(), args.port))
    else:
        down(args.directory.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
