#!/usr/bin/env python3
"""Lists the non-test Rust functions longer than a limit (default 120 lines).

Usage: python3 scripts/long_functions.py [LIMIT] [--count]

A function's length is counted from its `fn` line to its closing brace.
Left out: `tests/` directories, `#[cfg(test)]` modules and `#[test]`
functions, and build output. Prints `lines path:line name`, longest first;
with --count, only the number of such functions. Exits 0 either way: the
limit is a guide ("about 120 lines"), not a gate.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_DIRS = {"target", "tests", ".git", "node_modules", "golden", "fixtures"}


def blank_literals(src):
    """The source with comments, strings and char literals blanked out
    (newlines kept), so that braces inside them are not counted."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif re.match(r'(b?r#*")', src[i:i + 40]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'b?r(#*)"', src[i:])
            end = '"' + m.group(1)
            j = src.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "'":
            # A char literal ('a', '\n', '{'), else a lifetime ('a).
            m = re.match(r"'(\\.[^']*|[^'\\])'", src[i:])
            if m:
                out.append(" " * m.end())
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def test_ranges(lines):
    """Line ranges (start, end) of `#[cfg(test)]` items and `#[test]` fns."""
    ranges = []
    for idx, line in enumerate(lines):
        if re.match(r"\s*#\[(cfg\(test\)|test)\]", line):
            end = block_end(lines, idx)
            if end is not None:
                ranges.append((idx, end))
    return ranges


def block_end(lines, start):
    """The line where the first `{` block at or after `start` closes."""
    depth, opened = 0, False
    for j in range(start, len(lines)):
        for ch in lines[j]:
            if ch == "{":
                depth, opened = depth + 1, True
            elif ch == "}":
                depth -= 1
                if opened and depth == 0:
                    return j
        if not opened and lines[j].rstrip().endswith(";"):
            return j
    return None


FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"C\"\s+)?fn\s+(\w+)")


def functions(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = blank_literals(f.read()).split("\n")
    skip = test_ranges(lines)
    for idx, line in enumerate(lines):
        m = FN.match(line)
        if not m or any(a <= idx <= b for a, b in skip):
            continue
        end = block_end(lines, idx)
        if end is not None:
            yield m.group(7), idx + 1, end - idx + 1


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    limit = int(args[0]) if args else 120
    found = []
    for d, subdirs, files in os.walk(ROOT):
        subdirs[:] = sorted(s for s in subdirs if s not in SKIP_DIRS and not s.startswith("."))
        for f in sorted(files):
            if f.endswith(".rs"):
                p = os.path.join(d, f)
                for name, line, length in functions(p):
                    if length > limit:
                        found.append((length, os.path.relpath(p, ROOT), line, name))
    found.sort(key=lambda x: (-x[0], x[1]))
    if "--count" in sys.argv:
        print(len(found))
        return
    for length, p, line, name in found:
        print(f"{length:5} {p}:{line} {name}")
    print(f"{len(found)} non-test functions over {limit} lines")


if __name__ == "__main__":
    main()
