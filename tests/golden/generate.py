"""The golden files of the compiled form: the shipped rules, lowered, in protobuf text format.

One file per agreement (`<id>.txtpb`: a Policy holding that agreement and the
label schemes it defines) and `policy.txtpb` for the rest (the version of the
representation, the revision, the bindings). Read together they are the whole
compiled policy. Beside them, in `matrix/`, what `discretion matrix` prints for
the agreements whose every cell a reviewer signs off (the labels of the sharing
communities). A change to the compiler or to `rules/` shows here as a diff
to review; `make golden` rewrites them and `--check` (a test) fails when they
are stale.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from discretion import ir
from discretion.store.files import lower_directory

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
RULES = ROOT / "rules"
GOLDEN = ROOT / "tests" / "golden" / "ir"
MATRICES = ROOT / "tests" / "golden" / "matrix"
# The `discretion matrix` tables that are golden files, each file's name with the command's arguments: the
# agreements alone (they restrict, so outside the group every cell denies) and adopted beside one that permits,
# for a look-up, where each value's row shows what it takes away.
REVIEWED = {
    "pap.md": ["pap"],
    "iep2.md": ["iep2"],
    "pap-beside-open-with-opt-out.md": ["pap", "--with", "open-with-opt-out", "--use", "lookup"],
    "iep2-beside-open-with-opt-out.md": ["iep2", "--with", "open-with-opt-out", "--use", "lookup"],
}


def matrices() -> dict[str, str]:
    """File name -> what `discretion matrix` prints for each reviewed agreement."""
    import io

    from discretion.cli import run

    found = {}
    for name, arguments in REVIEWED.items():
        out, err = io.StringIO(), io.StringIO()
        if run(["matrix", *arguments, "--rules", str(RULES)], out, err) != 0:
            raise SystemExit(err.getvalue())
        found[name] = out.getvalue()
    return found


def split(policy: ir.Policy) -> dict[str, str]:
    """File name -> text of each golden file of `policy`."""
    files = {}
    for agreement in policy.agreements:
        part = ir.Policy(ir_version=policy.ir_version, agreements=[agreement],
                         label_schemes=[s for s in policy.label_schemes if s.agreement == agreement.id],
                         consent_scopes=[s for s in policy.consent_scopes if s.agreement == agreement.id])
        files[f"{agreement.id}.txtpb"] = ir.to_text(part)
    files["policy.txtpb"] = ir.to_text(ir.Policy(ir_version=policy.ir_version, revision=policy.revision,
                                                 bindings=policy.bindings))
    return files


def join(texts: list[str]) -> ir.Policy:
    """The whole policy again from its golden files."""
    from google.protobuf import text_format

    whole = ir.Policy()
    for text in texts:
        part = text_format.Parse(text, ir.Policy())
        whole.agreements.extend(part.agreements)
        whole.label_schemes.extend(part.label_schemes)
        whole.bindings.extend(part.bindings)
        whole.consent_scopes.extend(part.consent_scopes)
        if part.revision:
            whole.revision = part.revision
        whole.ir_version = part.ir_version
    whole.agreements.sort(key=lambda a: a.id)
    whole.label_schemes.sort(key=lambda s: s.name)
    whole.consent_scopes.sort(key=lambda s: s.name)
    return whole


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed golden files are stale")
    args = parser.parse_args(argv)
    folders = [(GOLDEN, "*.txtpb", split(lower_directory(RULES))), (MATRICES, "*.md", matrices())]
    if args.check:
        stale = []
        for folder, pattern, expected in folders:
            present = {p.name for p in folder.glob(pattern)}
            stale += sorted(str(folder / name) for name, text in expected.items()
                            if name not in present or (folder / name).read_text() != text)
            stale += sorted(str(folder / name) for name in present - set(expected))
        if stale:
            print("stale golden files (run `make golden` and review the diff):", *stale, sep="\n  ", file=sys.stderr)
            return 1
        return 0
    for folder, pattern, expected in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for name in {p.name for p in folder.glob(pattern)} - set(expected):
            (folder / name).unlink()
        for name, text in expected.items():
            (folder / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
