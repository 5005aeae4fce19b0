"""Guest instructions retired by a program under qemu-user, inside one address range.

Debian's qemu-user has TCG plugin support but ships no plugins (no libinsn.so), so this
counts from qemu's own logs instead: `-d in_asm` prints every translated block (TB) with
its instructions, `-d exec,nochain` prints one line per TB executed (nochain: blocks are
not chained, so every execution is logged), and `-dfilter START..END` keeps both to the
program's own code (index_scan_bench is linked without PIE, so nm's addresses are final).
The count is the sum, over the executed TBs, of each TB's instruction count.

    count_insns.py [--env K=V ...] QEMU_CMD... -- PROGRAM ARGS...

prints `instructions N` on the last line. The caller subtracts a run with REPEATS=0.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

TB_HEADER = re.compile(r"^IN:")
INSN = re.compile(r"^0x([0-9a-f]+):\s")
EXEC = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")


def text_range(program: str, nm: str) -> tuple[int, int]:
    """Lowest and highest address of the program's code symbols."""
    out = subprocess.run([nm, "--defined-only", program], check=True, capture_output=True, text=True).stdout
    addrs = [int(f[0], 16) for f in (ln.split() for ln in out.splitlines()) if len(f) >= 3 and f[1] in "tT"]
    return min(addrs), max(addrs) + 4096  # the last function's body: generously past its start


def count(log_path: str) -> int:
    sizes: dict[int, int] = {}
    total = 0
    current: int | None = None
    with open(log_path, errors="replace") as f:
        for line in f:
            m = EXEC.match(line)
            if m:
                total += sizes.get(int(m.group(1), 16), 0)
                current = None
                continue
            if TB_HEADER.match(line):
                current = -1
                continue
            if current is not None:
                m = INSN.match(line)
                if m:
                    pc = int(m.group(1), 16)
                    if current == -1:
                        current = pc
                        sizes[current] = 0
                    sizes[current] += 1
                elif not line.strip():
                    current = None
    return total


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    nm = "aarch64-linux-gnu-nm"
    while argv and argv[0] in ("--env", "--nm"):
        if argv[0] == "--env":
            k, _, v = argv[1].partition("=")
            env[k] = v
        else:
            nm = argv[1]
        argv = argv[2:]
    sep = argv.index("--")
    qemu, prog = argv[:sep], argv[sep + 1:]
    lo, hi = text_range(prog[0], nm)
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "qemu.log")
        cmd = [*qemu, "-d", "in_asm,exec,nochain", "-dfilter", f"0x{lo:x}..0x{hi:x}", "-D", log, *prog]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        sys.stdout.write(res.stdout)
        if res.returncode != 0:
            sys.stderr.write(res.stderr)
            return res.returncode
        print(f"instructions {count(log)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
