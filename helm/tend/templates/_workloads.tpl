{{/*
A long-running Tend process: web, worker and clock differ only in their
arguments and in what web adds (ports, probes, scrape annotations).
Called with (dict "context" $ "component" NAME "args" LIST) and optionally
"podAnnotations" (map) and "containerExtras" (YAML text).
*/}}
{{- define "tend.deployment" -}}
{{- $ := .context -}}
{{- $values := index $.Values .component -}}
{{- $selector := dict "context" $ "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "tend.componentName" $selector }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "tend.componentLabels" $selector | nindent 4 }}
spec:
  {{- if not (dig "autoscaling" "enabled" false $values) }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "tend.selectorLabels" $selector | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "tend.selectorLabels" $selector | nindent 8 }}
      annotations:
        {{- include "tend.checksumAnnotations" $ | nindent 8 }}
        {{- with (merge (dict) $values.podAnnotations (default (dict) .podAnnotations)) }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "tend.podSettings" $selector | nindent 6 }}
      containers:
        - name: {{ .component }}
          {{- include "tend.container" (merge (dict "args" .args) $selector) | nindent 10 }}
          {{- with .containerExtras }}
          {{- . | nindent 10 }}
          {{- end }}
{{- end -}}

{{/* Optional HorizontalPodAutoscaler of a component's Deployment (web, worker). */}}
{{- define "tend.hpa" -}}
{{- $ := .context -}}
{{- $autoscaling := (index $.Values .component).autoscaling -}}
{{- if $autoscaling.enabled -}}
{{- $selector := dict "context" $ "component" .component -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "tend.componentName" $selector }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "tend.componentLabels" $selector | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "tend.componentName" $selector }}
  minReplicas: {{ $autoscaling.minReplicas }}
  maxReplicas: {{ $autoscaling.maxReplicas }}
  metrics:
    {{- with $autoscaling.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
    {{- with $autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
{{- end -}}
{{- end -}}
