{{/* Names: every helper is prefixed "keyward." and every name is cut to 63 characters. */}}

{{- define "keyward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "keyward.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name derived from the full name with a suffix, still at most 63 characters. */}}
{{- define "keyward.suffixed" -}}
{{- $suffix := index . 1 -}}
{{- $base := include "keyward.fullname" (index . 0) | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base $suffix -}}
{{- end -}}

{{- define "keyward.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "keyward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keyward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "keyward.labels" -}}
helm.sh/chart: {{ include "keyward.chart" . }}
{{ include "keyward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: keyward
{{- end -}}

{{- define "keyward.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "keyward.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* image reference: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion). */}}
{{- define "keyward.image" -}}
{{- $image := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "keyward.webhookServiceName" -}}
{{- include "keyward.suffixed" (list . "webhook") -}}
{{- end -}}

{{- define "keyward.tlsSecretName" -}}
{{- include "keyward.suffixed" (list . "webhook-tls") -}}
{{- end -}}

{{- define "keyward.kekSecretName" -}}
{{- if .Values.kek.existingSecret -}}
{{- .Values.kek.existingSecret -}}
{{- else -}}
{{- include "keyward.suffixed" (list . "kek") -}}
{{- end -}}
{{- end -}}

{{- /* Whether the operator seals key material: a KEK Secret is created or named. */ -}}
{{- define "keyward.sealing" -}}
{{- if or .Values.kek.create .Values.kek.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "keyward.brokerUrl" -}}
{{- if .Values.injection.brokerUrl -}}
{{- .Values.injection.brokerUrl -}}
{{- else -}}
{{- printf "https://%s.%s.svc:%d" (include "keyward.webhookServiceName" .) .Release.Namespace (int .Values.broker.port) -}}
{{- end -}}
{{- end -}}
