{{/*
Name of the chart, overridable with nameOverride.
*/}}
{{- define "mcpgw.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name of the release's objects (at most 63 characters, a DNS
label). The release name is used as is when it already contains the chart
name.
*/}}
{{- define "mcpgw.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "mcpgw.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object of the chart.
*/}}
{{- define "mcpgw.labels" -}}
helm.sh/chart: {{ include "mcpgw.chart" . }}
{{ include "mcpgw.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: mcpgw
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels that select the operator pods (immutable once installed).
*/}}
{{- define "mcpgw.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcpgw.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the operator's ServiceAccount.
*/}}
{{- define "mcpgw.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcpgw.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The operator's image: repository:tag, the tag defaulting to appVersion.
*/}}
{{- define "mcpgw.operatorImage" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The data plane's image the operator puts into every gateway's Deployment.
*/}}
{{- define "mcpgw.dataplaneImage" -}}
{{- default (printf "ghcr.io/mcpgw/mcpgw-dataplane:%s" .Chart.AppVersion) .Values.dataplaneImage }}
{{- end }}

{{/*
The rules the operator needs wherever it watches McpGateway/McpToolkit
resources (a ClusterRole, or a Role per watched namespace). Keep in step with
tests/helm/check.sh, which refuses anything beyond this contract.
*/}}
{{- define "mcpgw.watchRules" -}}
- apiGroups: ["mcpgw.dev"]
  resources: ["mcpgateways", "mcptoolkits"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["mcpgw.dev"]
  resources: ["mcpgateways/status", "mcptoolkits/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: [""]
  resources: ["configmaps", "services", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch"]
{{- /* Secrets: get a referenced one (session key, JWT keys, a toolkit's credential) to
learn which keys it holds; list/watch their metadata only, to re-reconcile a gateway when
a Secret it names appears, changes or goes. ConfigMaps above: owned configs, and JWT keys
a gateway names. */}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
