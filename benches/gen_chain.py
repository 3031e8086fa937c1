#!/usr/bin/env python3
"""Writes a chain of LENGTH .wf files into FOLDER: f0.wf imports f1.wf and uses its workflow
after a task of its own, and so on; with WIDTH > 0 each file also fans out WIDTH tasks that
the next level waits for. Used to time `wfc plan` on deep `use` nesting (docs/performance.md).

    benches/gen_chain.py LENGTH FOLDER [WIDTH]
"""
import os
import sys


def main():
    length, folder = int(sys.argv[1]), sys.argv[2]
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    os.makedirs(folder, exist_ok=True)
    items = ", ".join(f'"i{k}"' for k in range(width))
    for i in range(length):
        fan = ""
        waits_for = "step"
        if width:
            fan = f'\n  task fan for each x in [{items}] after step {{\n    run = "echo {{{{ x }}}}"\n  }}\n'
            waits_for = "fan"
        if i + 1 < length:
            text = (
                f'import "./f{i + 1}.wf" as next\n\nworkflow w {{\n  task step {{\n'
                f'    run = "echo {i}"\n  }}\n{fan}\n  use next.w() as inner after {waits_for}\n}}\n'
            )
        else:
            text = f'workflow w {{\n  task step {{\n    run = "echo last"\n  }}\n{fan}}}\n'
        with open(os.path.join(folder, f"f{i}.wf"), "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()
