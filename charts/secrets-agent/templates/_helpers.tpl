{{/* Name of the chart, or nameOverride. */}}
{{- define "secrets-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the objects: fullnameOverride, else the release name when it already holds the
chart name (so `helm install secrets-agent …` gives the Service the plugin expects), else
<release>-<chart>.
*/}}
{{- define "secrets-agent.fullname" -}}
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

{{/* Labels that select the agent's pods; never change them in an upgrade. */}}
{{- define "secrets-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "secrets-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object: the controller's ("agent") and the CSI provider's. */}}
{{- define "secrets-agent.labels" -}}
{{ include "secrets-agent.labelsOf" (dict "ctx" . "component" "agent") }}
{{- end }}

{{- define "secrets-agent.csiProvider.labels" -}}
{{ include "secrets-agent.labelsOf" (dict "ctx" . "component" "csi-provider") }}
{{- end }}

{{/* The shared part of both: {ctx, component}. */}}
{{- define "secrets-agent.labelsOf" -}}
{{- $ctx := .ctx -}}
helm.sh/chart: {{ printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version | replace "+" "_" }}
{{ include "secrets-agent.selectorLabels" $ctx }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: kubectl-secrets
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
{{- with $ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels that select the CSI provider's pods: the controller's plus the component, so nothing
of the controller's (Service, NetworkPolicy, PDB) can select them, and they never change in an
upgrade either.
*/}}
{{- define "secrets-agent.csiProvider.selectorLabels" -}}
{{ include "secrets-agent.selectorLabels" . }}
app.kubernetes.io/component: csi-provider
{{- end }}

{{- define "secrets-agent.csiProvider.fullname" -}}
{{- printf "%s-csi-provider" (include "secrets-agent.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "secrets-agent.csiProvider.serviceAccountName" -}}
{{- default (include "secrets-agent.csiProvider.fullname" .) .Values.csiProvider.serviceAccount.name }}
{{- end }}

{{/*
The CSI provider's namespace. Its hostPath needs Pod Security `privileged`, which must never
be the controller's namespace (whose pods hold the sealing keys), so the two must differ.
*/}}
{{- define "secrets-agent.csiProvider.namespace" -}}
{{- $namespace := required "csiProvider.namespace is required when csiProvider.enabled is true" .Values.csiProvider.namespace }}
{{- if eq $namespace .Release.Namespace }}
{{- fail (printf "csiProvider.namespace must differ from the release namespace %s: the provider's hostPath needs Pod Security level privileged, which the controller's namespace (holding the sealing keys) must not allow" .Release.Namespace) }}
{{- end }}
{{- $namespace }}
{{- end }}

{{/* Where the provider reaches the controller's mount endpoint (TLS, key pinned from the ConfigMap). */}}
{{- define "secrets-agent.mountURL" -}}
{{- printf "https://%s.%s.svc:8443" (include "secrets-agent.fullname" .) .Release.Namespace }}
{{- end }}

{{- define "secrets-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "secrets-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: by digest when one is given, else by tag (default: appVersion). */}}
{{- define "secrets-agent.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}
