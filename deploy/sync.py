"""Write what deploy/ keeps as copies, so kustomize and Helm read nothing outside their roots.

`kubectl apply -k` refuses files outside a kustomization's folder, so the
rules the base ships are a copy of rules/ in deploy/k8s/base/rules/ (and the
ConfigMap generator lists them), and the PrometheusRule of the monitoring
component carries deploy/prometheus/alerts.yaml's groups. A Helm chart reads
only its own folder too: deploy/helm/discretion/rules/ and files/alerts.yaml
are the same copies. rules/ and alerts.yaml are where they are edited: `make
deploy` writes the copies again, and `--check` (the test suite runs it) fails
while one differs.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASE = ROOT / "deploy" / "k8s" / "base"
MONITORING = ROOT / "deploy" / "k8s" / "components" / "monitoring"
CHART = ROOT / "deploy" / "helm" / "discretion"
sys.path.insert(0, str(ROOT / "service"))

from discretion.store.files import find_rule_files  # noqa: E402

GENERATED = "# Written by `make deploy` (deploy/sync.py) from {source}: edit that, not this.\n"
KUSTOMIZATION_FILES = "    files:\n"


def wanted() -> dict[pathlib.Path, str]:
    """Every file deploy/sync.py writes, and what it must hold."""
    files: dict[pathlib.Path, str] = {}
    rules = sorted(find_rule_files(ROOT / "rules"), key=lambda path: path.name)
    for path in rules:
        files[BASE / "rules" / path.name] = path.read_text()
        files[CHART / "rules" / path.name] = path.read_text()
    kustomization = (BASE / "kustomization.yaml").read_text()
    head, _, _ = kustomization.partition(KUSTOMIZATION_FILES)
    files[BASE / "kustomization.yaml"] = head + KUSTOMIZATION_FILES + "".join(
        f"      - rules/{path.name}\n" for path in rules)
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yaml").read_text())
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "discretion", "labels": {"app.kubernetes.io/name": "discretion"}},
            "spec": {"groups": alerts["groups"]}}
    files[MONITORING / "prometheusrule.yaml"] = (GENERATED.format(source="deploy/prometheus/alerts.yaml")
                                                + yaml.safe_dump(rule, sort_keys=False, width=120))
    files[CHART / "files" / "alerts.yaml"] = (GENERATED.format(source="deploy/prometheus/alerts.yaml")
                                             + yaml.safe_dump({"groups": alerts["groups"]}, sort_keys=False, width=120))
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a copy differs")
    args = parser.parse_args()
    files = wanted()
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    extra = [path for folder in (BASE / "rules", CHART / "rules") for path in folder.glob("*") if path not in files]
    if args.check:
        for path in stale + extra:
            print(f"{path.relative_to(ROOT)} is not what rules/ and deploy/prometheus/ say: run `make deploy`")
        return 1 if stale or extra else 0
    for path in extra:
        path.unlink()
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
    return 0


if __name__ == "__main__":
    sys.exit(main())
