{{/* The objects' name: the release's, unless it does not say discretion ("discretion" for a release of that name). */}}
{{- define "discretion.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 53 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 53 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* What selects this release's pods: two releases in one namespace never select each other's. */}}
{{- define "discretion.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "discretion.labels" -}}
{{ include "discretion.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "discretion.rulesConfigMap" -}}
{{- .Values.rules.existingConfigMap | default (printf "%s-rules" (include "discretion.fullname" .)) -}}
{{- end -}}

{{/* The port kubelet probes ask: the decision port, or the plaintext health port when that speaks TLS. */}}
{{- define "discretion.probePort" -}}
{{- if .Values.tls.enabled }}{{ .Values.tls.healthPort }}{{ else }}{{ .Values.grpc.port }}{{ end -}}
{{- end -}}

{{/* Ports the pod binds must differ: the server would not start ("address already in use"). */}}
{{- define "discretion.checkPorts" -}}
{{- $ports := list (int .Values.grpc.port) }}
{{- if .Values.metrics.enabled }}{{ $ports = append $ports (int .Values.metrics.port) }}{{ end }}
{{- if .Values.tls.enabled }}{{ $ports = append $ports (int .Values.tls.healthPort) }}{{ end }}
{{- if .Values.http.enabled }}{{ $ports = append $ports (int .Values.http.port) }}{{ end }}
{{- if ne (len $ports) (len (uniq $ports)) }}
{{- fail (printf "grpc.port, metrics.port, tls.healthPort and http.port must differ: %v" $ports) }}
{{- end }}
{{- end -}}
