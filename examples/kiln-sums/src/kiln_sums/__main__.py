"""Command line: `kiln-sums write FILE...` and `kiln-sums check SUMS`."""

from __future__ import annotations

import argparse
import os
import sys

from . import Entry, check, digest_file, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiln-sums", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write", help="print a SHA256SUMS file for FILE...")
    write.add_argument("files", nargs="+")
    chk = sub.add_parser("check", help="check files against a SHA256SUMS file")
    chk.add_argument("sums")
    args = parser.parse_args(argv)

    if args.command == "write":
        entries = [Entry(digest_file(f), os.path.basename(f)) for f in args.files]
        sys.stdout.write(render(entries))
        return 0

    with open(args.sums, encoding="utf-8") as f:
        text = f.read()
    results = check(text, os.path.dirname(os.path.abspath(args.sums)))
    for r in results:
        print(f"{r.name}: {r.status}")
    return 0 if results and all(r.status == "OK" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
