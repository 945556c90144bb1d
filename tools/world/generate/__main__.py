"""``python -m casefile.tools.world.generate SPEC.yaml OUT_DIR``: write the world of a scenario spec."""

from __future__ import annotations

import sys

from casefile.tools.world.generate.build import SpecError, load_spec, write_world


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m casefile.tools.world.generate SPEC.yaml OUT_DIR", file=sys.stderr)
        return 2
    try:
        written = write_world(load_spec(args[0]), args[1])
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(written)} files written to {args[1]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
