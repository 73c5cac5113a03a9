#!/usr/bin/env python3
# HACKING.md's layout table must name every source file of the tree, and only files that
# exist: a file added, moved or removed without its row fails this test.
#
# docs/architecture.md must say something of each of them too (its name, with .c, .h or
# .[ch], somewhere in the text).
#
# A row names files in its first cell (`daemon/job.[ch]`, `shared/util.[ch]`) or, for a folder
# row (`client/`), as backticked names in its text (`verb-job.c`, `job-id.[ch]`).
import os
import re
import sys

FOLDERS = ("daemon", "bus", "client", "apt", "shared")


def expand(name):
    if name.endswith(".[ch]"):
        return [name[:-5] + ".c", name[:-5] + ".h"]
    return [name]


def named_files(hacking):
    named = set()
    for line in hacking.splitlines():
        cells = line.split("|")
        if len(cells) < 4 or not line.startswith("| `"):
            continue
        first = re.findall(r"`([^`]+)`", cells[1])
        if not first:
            continue
        head = first[0]
        if head.endswith("/"):
            if head.rstrip("/") not in FOLDERS:
                continue
            for name in re.findall(r"`([A-Za-z0-9_.\[\]-]+\.(?:c|h|\[ch\]))`", "|".join(cells[2:])):
                named.update(head + n for n in expand(name))
        else:
            named.update(expand(head))
    return {n for n in named if n.split("/")[0] in FOLDERS}


def tree_files(srcdir):
    found = set()
    for folder in FOLDERS:
        for name in os.listdir(os.path.join(srcdir, folder)):
            if name.endswith((".c", ".h")):
                found.add(folder + "/" + name)
    return found


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(srcdir, "HACKING.md"), encoding="utf-8") as f:
        named = named_files(f.read())
    tree = tree_files(srcdir)
    with open(os.path.join(srcdir, "docs", "architecture.md"), encoding="utf-8") as f:
        architecture = f.read()
    silent = sorted(
        path for path in tree
        if not re.search(re.escape(os.path.splitext(os.path.basename(path))[0]) + r"\.(?:c|h|\[ch\])", architecture)
    )
    for path in silent:
        print(f"docs/architecture.md says nothing of {path}")
    missing = sorted(tree - named)
    stale = sorted(named - tree)
    for m in missing:
        print(f"HACKING.md has no row for {m}")
    for s in stale:
        print(f"HACKING.md names {s}, which is not in the tree")
    if missing or stale or silent:
        return 1
    print(f"HACKING.md and docs/architecture.md name all {len(tree)} source files of {', '.join(FOLDERS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
