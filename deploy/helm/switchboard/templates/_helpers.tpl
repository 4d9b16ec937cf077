{{/* Names are cut at 63 characters: the DNS label limit Kubernetes applies to most names. */}}
{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "switchboard.fullname" -}}
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

{{/* A component's resource name: <fullname>-<component>, the suffix kept whole when cutting. */}}
{{- define "switchboard.componentName" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- printf "%s-%s" (include "switchboard.fullname" $root | trunc (int (sub 62 (len $component))) | trimSuffix "-") $component }}
{{- end }}

{{- define "switchboard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "switchboard.labels" -}}
helm.sh/chart: {{ include "switchboard.chart" . }}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchboard
{{- end }}

{{/* Selector labels must never change between releases: Deployments refuse a new selector. */}}
{{- define "switchboard.selectorLabels" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 -}}
app.kubernetes.io/name: {{ include "switchboard.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ $component }}
{{- end }}

{{- define "switchboard.componentLabels" -}}
{{- include "switchboard.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "switchboard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "switchboard.authSecretName" -}}
{{- default (include "switchboard.componentName" (list . "auth")) .Values.auth.existingSecret }}
{{- end }}

{{/* The chart owns a Secret when it generates the auth secrets or holds an inline Redis URL. */}}
{{- define "switchboard.ownsAuthSecret" -}}
{{- if not .Values.auth.existingSecret }}true{{ end }}
{{- end }}

{{- define "switchboard.ownsRedisSecret" -}}
{{- if and (not .Values.redis.bundled) .Values.redis.url }}true{{ end }}
{{- end }}

{{/* Exactly one Redis source; anything else is a mistake worth failing the install for. */}}
{{- define "switchboard.validateRedis" -}}
{{- $external := or .Values.redis.url .Values.redis.existingSecret }}
{{- if and .Values.redis.bundled $external }}
{{- fail "redis: set either redis.bundled=true or an external redis.url/redis.existingSecret, not both" }}
{{- end }}
{{- if and (not .Values.redis.bundled) (not $external) }}
{{- fail "redis: no Redis configured; set redis.url, redis.existingSecret, or redis.bundled=true" }}
{{- end }}
{{- if and .Values.redis.url .Values.redis.existingSecret }}
{{- fail "redis: set redis.url or redis.existingSecret, not both" }}
{{- end }}
{{- end }}

{{/* REDIS_URL: the bundled Service's address, or a reference into a Secret (URLs carry passwords). */}}
{{- define "switchboard.redisUrlEnv" -}}
{{- include "switchboard.validateRedis" . -}}
- name: REDIS_URL
{{- if .Values.redis.bundled }}
  value: {{ printf "redis://%s:6379" (include "switchboard.componentName" (list . "redis")) | quote }}
{{- else if .Values.redis.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretKey }}
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ include "switchboard.componentName" (list . "redis-url") }}
      key: redis-url
{{- end }}
{{- end }}

{{/* Environment shared by the gateway and the bridge: config, secrets, the pod's own name. */}}
{{- define "switchboard.commonEnv" -}}
- name: NODE_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "switchboard.authSecretName" . }}
      key: {{ .Values.auth.jwtSecretKey }}
- name: ADMIN_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "switchboard.authSecretName" . }}
      key: {{ .Values.auth.adminSecretKey }}
{{ include "switchboard.redisUrlEnv" . }}
{{- end }}

{{/* PUBLIC_URL from the first Ingress host when the user gave none, so the derived allowed origin
is the one browsers really use. */}}
{{- define "switchboard.publicUrl" -}}
{{- if .Values.config.PUBLIC_URL }}
{{- .Values.config.PUBLIC_URL }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $tls := false }}
{{- range .Values.ingress.tls }}{{ if has $host .hosts }}{{ $tls = true }}{{ end }}{{ end }}
{{- printf "%s://%s" (ternary "https" "http" $tls) $host }}
{{- end }}
{{- end }}

{{/* Seconds the kubelet waits after starting preStop before SIGKILL: the pre-stop sleep, the
whole drain window (rounded up) and the margin for Redis cleanup. */}}
{{- define "switchboard.terminationGracePeriodSeconds" -}}
{{- $drainSeconds := div (add .Values.gateway.drainWindowMs 999) 1000 }}
{{- add .Values.gateway.preStopSleepSeconds $drainSeconds .Values.gateway.shutdownMarginSeconds }}
{{- end }}
