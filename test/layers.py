#!/usr/bin/env python3
"""test/layers.py -- who calls whom among the C files of mangopay_fdw.

Reads every .c file of the extension (mangopay_fdw.c, src/*.c), finds the
functions and variables each one defines for other files (not static) and,
in every other file, the uses of those names (comments and string literals
left out; a file's own definition of a name shadows another file's).  That
gives an edge A -> B for "A calls B" (or reads B's exported variable, such
as mp_list_source).

Then it checks the layer table of doc/architecture.md (the rows between
"<!-- layers -->" and "<!-- /layers -->", top layer first, each naming its
files in backticks):

  * every .c file is in exactly one layer;
  * a file calls only files of its own layer or of a layer below;
  * no circle: no two files call each other, directly or through others.

  python3 test/layers.py            check; prints the violations, exit 1
  python3 test/layers.py --edges    also print every edge and the names
  python3 test/layers.py --dot      the graph in Graphviz dot, no check

No build is needed: it reads the source text.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DOC = os.path.join(ROOT, "doc", "architecture.md")


def c_files():
    files = ["mangopay_fdw.c"]
    files += sorted("src/" + f for f in os.listdir(os.path.join(ROOT, "src")) if f.endswith(".c"))
    return files


def strip(text):
    """the text without comments, string and character literals (same lines)"""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


IDENT = re.compile(r"[A-Za-z_]\w*")
FUNC_DEF = re.compile(r"^([A-Za-z_]\w*)\s*\(", re.M)
VAR_DEF = re.compile(r"^((?:[A-Za-z_]\w*[\s*]+)+?)([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)?[=;]", re.M)


def definitions(text):
    """(exported, local): names defined at file level, visible to other files or not"""
    exported, local = set(), set()
    depth = 0
    line_start_depth = {}
    pos = 0
    for line in text.split("\n"):
        line_start_depth[pos] = depth
        depth += line.count("{") - line.count("}")
        pos += len(line) + 1
    lines = text.split("\n")
    offs = []
    p = 0
    for line in lines:
        offs.append(p)
        p += len(line) + 1
    for k, line in enumerate(lines):
        if line_start_depth[offs[k]] != 0 or not line or line[0] in " \t#}{":
            continue
        m = FUNC_DEF.match(line)
        if m:
            # a definition: the parameter list is followed by "{", not ";"
            rest = text[offs[k] + m.end() - 1:]
            d, j = 0, 0
            for j, ch in enumerate(rest):
                d += ch == "("
                d -= ch == ")"
                if d == 0:
                    break
            after = rest[j + 1:].lstrip()
            if not after.startswith("{"):
                continue
            prev = lines[k - 1] if k > 0 else ""
            name = m.group(1)
            (local if prev.startswith("static") else exported).add(name)
            continue
        m = VAR_DEF.match(line)
        if m and not re.match(r"(extern|typedef|return)\b", m.group(1)) \
                and "(" not in line.split("=")[0]:
            # a variable: "MpStats mp_stats;", "const MpSource mp_list_source = {"
            (local if "static" in m.group(1).split() else exported).add(m.group(2))
            continue
        m = re.match(r"static\b.*\b([A-Za-z_]\w*)\s*\(", line)
        if m:
            # "static void name(...)" on one line (a definition or a prototype)
            local.add(m.group(1))
    return exported, local


def graph():
    texts = {}
    for f in c_files():
        with open(os.path.join(ROOT, f), encoding="utf-8") as fh:
            texts[f] = strip(fh.read())
    owner = {}
    locals_of = {}
    for f, t in texts.items():
        exported, local = definitions(t)
        locals_of[f] = local | exported
        for name in exported:
            if name in owner and owner[name] != f:
                sys.exit("layers.py: %s is defined in both %s and %s" % (name, owner[name], f))
            owner[name] = f
    edges = {}
    for f, t in texts.items():
        for name in set(IDENT.findall(t)):
            g = owner.get(name)
            if g is None or g == f or name in locals_of[f]:
                continue
            edges.setdefault((f, g), set()).add(name)
    return list(texts), edges


def layer_table():
    with open(DOC, encoding="utf-8") as fh:
        doc = fh.read()
    m = re.search(r"<!-- layers -->(.*?)<!-- /layers -->", doc, re.S)
    if not m:
        sys.exit("layers.py: no <!-- layers --> table in doc/architecture.md")
    layers = []
    for row in m.group(1).split("\n"):
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= set("-: ") or cells[0].lower() == "layer":
            continue
        files = re.findall(r"`([^`]+\.c)`", cells[1])
        layers.append((cells[0], ["mangopay_fdw.c" if f == "mangopay_fdw.c" else
                                  (f if f.startswith("src/") else "src/" + f) for f in files]))
    return layers


def cycles(nodes, edges):
    """strongly connected components with more than one file (Tarjan)"""
    succ = {n: sorted(g for (f, g) in edges if f == n) for n in nodes}
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main():
    nodes, edges = graph()
    if "--dot" in sys.argv:
        print("digraph mangopay_fdw {")
        for (f, g) in sorted(edges):
            print('  "%s" -> "%s";' % (f, g))
        print("}")
        return 0
    if "--edges" in sys.argv:
        for (f, g) in sorted(edges):
            print("%s -> %s: %s" % (f, g, ", ".join(sorted(edges[(f, g)]))))
    bad = []
    rank = {}
    for i, (name, files) in enumerate(layer_table()):
        for f in files:
            if f in rank:
                bad.append("%s is in two layers" % f)
            rank[f] = (i, name)
    for f in nodes:
        if f not in rank:
            bad.append("%s is in no layer of doc/architecture.md" % f)
    for f in rank:
        if f not in nodes:
            bad.append("%s is in the layer table but is no C file" % f)
    for (f, g), names in sorted(edges.items()):
        if f in rank and g in rank and rank[f][0] > rank[g][0]:
            bad.append("%s (%s) calls up into %s (%s): %s" %
                       (f, rank[f][1], g, rank[g][1], ", ".join(sorted(names))))
    for comp in cycles(nodes, edges):
        inner = ["%s -> %s (%s)" % (f, g, ", ".join(sorted(edges[(f, g)])))
                 for (f, g) in sorted(edges) if f in comp and g in comp]
        bad.append("circle among %s:\n    %s" % (", ".join(comp), "\n    ".join(inner)))
    for b in bad:
        print("layers: " + b)
    print("layers: %d files, %d calls between files, %d problems" % (len(nodes), len(edges), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
