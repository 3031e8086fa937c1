#!/usr/bin/env python3
"""Writes one task graph three ways, for timing wfc beside the tools users would reach for.

    python3 benches/gen_versus.py check TASKS FOLDER   # FOLDER/graph.wf and FOLDER/justfile
    python3 benches/gen_versus.py run CHAINS LENGTH FOLDER  # FOLDER/noop.wf and FOLDER/Makefile

`check`: TASKS tasks in chains of 20, each with a doc comment, a command that interpolates a
parameter and the task's own number, and the task before it in its chain as a dependency;
every tenth task also waits for the last task of each of the three chains before its own
(a fan-in). The `.wf` file and the justfile hold the same recipes, the same dependencies,
the same doc comments and the same commands, so `wfc check` and `just --summary` read the
same graph.

`run`: CHAINS chains of LENGTH no-op tasks (`true`), as a workflow and as a Makefile.

The output is deterministic and uses only the Python standard library.
"""

import sys

CHAIN = 20


def check_graph(tasks):
    """Yields (number, doc, dependencies, command) for each task."""
    for n in range(tasks):
        deps = []
        if n % CHAIN:
            deps.append(n - 1)
        elif n % (CHAIN * 10) == 0 and n >= CHAIN * 3:
            chain = n // CHAIN
            deps.extend((chain - k) * CHAIN - 1 for k in (1, 2, 3))
        doc = f"Builds part {n} of the project and checks its output."
        yield n, doc, deps, n


def write_check(tasks, folder):
    wf = [
        "/// The benchmark graph: chains of builds with a fan-in every ten chains.",
        "workflow graph {",
        "  /// Name of the project, used in every command.",
        '  param name: string = "bench"',
        "",
    ]
    just = [
        "# Name of the project, used in every command.",
        'name := "bench"',
        "",
    ]
    for n, doc, deps, part in check_graph(tasks):
        after = " after " + ", ".join(f"t{d}" for d in deps) if deps else ""
        wf.append(f"  /// {doc}")
        wf.append(f"  task t{n}{after} {{")
        wf.append(f'    run = "echo building {{{{ name }}}} part {part}"')
        wf.append("  }")
        wf.append("")
        just.append(f"# {doc}")
        just.append(f"t{n}:" + "".join(f" t{d}" for d in deps))
        just.append(f"    echo building {{{{name}}}} part {part}")
        just.append("")
    wf.append("}")
    with open(f"{folder}/graph.wf", "w") as out:
        out.write("\n".join(wf) + "\n")
    with open(f"{folder}/justfile", "w") as out:
        out.write("\n".join(just))


def write_run(chains, length, folder):
    wf = ["workflow noop {"]
    names = [f"c{c}_{i}" for c in range(chains) for i in range(length)]
    mk = [".PHONY: all " + " ".join(names),
          "all: " + " ".join(f"c{c}_{length - 1}" for c in range(chains))]
    for c in range(chains):
        for i in range(length):
            after = f" after c{c}_{i - 1}" if i else ""
            wf.append(f"  task c{c}_{i}{after} {{\n    run = \"true\"\n  }}\n")
            dep = f" c{c}_{i - 1}" if i else ""
            mk.append(f"c{c}_{i}:{dep}\n\t@true")
    wf.append("}")
    with open(f"{folder}/noop.wf", "w") as out:
        out.write("\n".join(wf) + "\n")
    with open(f"{folder}/Makefile", "w") as out:
        out.write("\n".join(mk) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        write_check(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "run":
        write_run(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)
