"""Generate the Python stubs from proto/ into the packages that use them.

The wire contract (discretion/v1): the server and the client each keep a
private copy of the generated code, so neither distribution depends on the
other. The compiled form (discretion/ir/v1): the service's `discretion.ir`,
which the compiler writes and the evaluator reads. The native engine
(native/) builds its Rust types from one descriptor set of both, written here
so that building it needs no protoc. `--check` regenerates into
a temporary folder and fails if a committed copy differs (the stale-stub test).
"""

from __future__ import annotations

import argparse
import filecmp
import pathlib
import re
import shutil
import sys
import tempfile

from grpc_tools import protoc
import grpc_tools

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
# (the proto folder, with gRPC services?, where each copy goes)
SETS = [
    ("discretion/v1", True, [ROOT / "service" / "discretion" / "server" / "_gen",
                             ROOT / "clients" / "python" / "src" / "discretion_client" / "_gen"]),
    ("discretion/ir/v1", False, [ROOT / "service" / "discretion" / "ir" / "_gen"]),
]
# Both sets, with the well-known types they import, for the native engine's build.rs.
DESCRIPTOR_SET = ROOT / "native" / "proto" / "discretion.binpb"
# The generated gRPC module imports its messages absolutely
# (`from discretion.v1 import policy_pb2`); inside a private package that must
# be a relative import.
_ABSOLUTE_IMPORT = re.compile(r"^from discretion\.v1 import (\w+)", re.MULTILINE)


def generate(out: pathlib.Path, folder: str, services: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / folder).glob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        *([f"--grpc_python_out={out}"] if services else []),
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for path in out.rglob("*.py"):
        text = _ABSOLUTE_IMPORT.sub(r"from . import \1", path.read_text())
        path.write_text(text)
    for folder in [out, *[p for p in out.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()


def _same_tree(a: pathlib.Path, b: pathlib.Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    diffs = [str(b / n) for n in cmp.left_only + cmp.right_only + cmp.diff_files]
    for sub in cmp.common_dirs:
        diffs += _same_tree(a / sub, b / sub)
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed stubs are stale")
    args = parser.parse_args(argv)
    stale = []
    for folder, services, targets in SETS:
        stale += _write(folder, services, targets, args.check)
    stale += _write_descriptor_set(args.check)
    if stale:
        print("stale generated stubs (run `make proto`):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


def _write(folder: str, services: bool, targets: list[pathlib.Path], check: bool) -> list[str]:
    """The stale copies of one set when checking; otherwise writes them."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = pathlib.Path(tmp) / "_gen"
        generate(fresh, folder, services)
        stale = []
        for target in targets:
            if check:
                stale += _same_tree(fresh, target) if target.exists() else [str(target)]
            else:
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(fresh, target, ignore=shutil.ignore_patterns("__pycache__"))
    return stale


def _write_descriptor_set(check: bool) -> list[str]:
    """The stale descriptor set when checking; otherwise writes it."""
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for folder, _, _ in SETS for p in (PROTO_ROOT / folder).glob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        fresh = pathlib.Path(tmp) / DESCRIPTOR_SET.name
        if protoc.main(["protoc", f"-I{PROTO_ROOT}", f"-I{include}", "--include_imports",
                        f"--descriptor_set_out={fresh}", *protos]) != 0:
            raise SystemExit("protoc failed")
        if check:
            same = DESCRIPTOR_SET.exists() and DESCRIPTOR_SET.read_bytes() == fresh.read_bytes()
            return [] if same else [str(DESCRIPTOR_SET)]
        DESCRIPTOR_SET.parent.mkdir(parents=True, exist_ok=True)
        DESCRIPTOR_SET.write_bytes(fresh.read_bytes())
    return []


if __name__ == "__main__":
    sys.exit(main())
