{{/*
Names, labels and the pieces every Tend pod shares. Components (web, worker,
clock, migrations) call these with (dict "context" $ "component" "web") so the
same image, configuration and secret reach every process.
*/}}

{{- define "tend.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name, shortened to leave room for a component suffix. */}}
{{- define "tend.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects, e.g. "my-tend-web". */}}
{{- define "tend.componentName" -}}
{{- printf "%s-%s" (include "tend.fullname" .context) .component -}}
{{- end -}}

{{- define "tend.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tend.labels" -}}
helm.sh/chart: {{ include "tend.chart" . }}
app.kubernetes.io/name: {{ include "tend.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tend
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "tend.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tend.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tend.componentLabels" -}}
{{ include "tend.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The Tend image: pinned by digest when image.digest is set, else by tag (default: appVersion). */}}
{{- define "tend.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Non-secret settings of SPEC §2. Shared by the release ConfigMap and the
migrations hook's copy, and hashed into pod annotations so a change rolls pods.
*/}}
{{- define "tend.configData" -}}
{{- if and .Values.twilio.fromNumber .Values.twilio.messagingServiceSid -}}
{{- fail "set only one of twilio.fromNumber and twilio.messagingServiceSid" -}}
{{- end -}}
TEND_PUBLIC_URL: {{ required "config.publicUrl is required: the external base URL (Twilio signatures, feed and digest links)" .Values.config.publicUrl | quote }}
TEND_CLOCK_INTERVAL: {{ .Values.config.clockInterval | quote }}
TEND_SMS_MPS: {{ .Values.config.smsMps | quote }}
TEND_SMS_COUNTRIES: {{ join "," .Values.config.smsCountries | quote }}
TEND_CLAIM_TIMEOUT: {{ .Values.config.claimTimeout | quote }}
TEND_API_RATE_LIMIT: {{ .Values.config.apiRateLimit | quote }}
TEND_SIGNUP_RATE_LIMIT: {{ .Values.config.signupRateLimit | quote }}
{{- if kindIs "invalid" .Values.config.trustedProxies }}
TEND_TRUSTED_PROXIES: {{ ternary 1 0 .Values.ingress.enabled | quote }}
{{- else }}
TEND_TRUSTED_PROXIES: {{ .Values.config.trustedProxies | quote }}
{{- end }}
TEND_PORT: {{ .Values.web.containerPort | quote }}
TEND_SMS_COUNTRIES: {{ join "," .Values.config.smsCountries | quote }}
TEND_TWILIO_CONCURRENCY: {{ .Values.config.twilioConcurrency | quote }}
TEND_DISPATCH_LEAD: {{ .Values.config.dispatchLead | quote }}
{{- with .Values.twilio.fromNumber }}
TWILIO_FROM_NUMBER: {{ . | quote }}
{{- end }}
{{- with .Values.twilio.messagingServiceSid }}
TWILIO_MESSAGING_SERVICE_SID: {{ . | quote }}
{{- end }}
{{- with .Values.twilio.apiBaseUrl }}
TWILIO_API_BASE_URL: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Credentials of the generated Secret (only rendered without existingSecret). */}}
{{- define "tend.secretData" -}}
{{- $secrets := .Values.secrets -}}
{{- if ne (empty $secrets.twilioAccountSid) (empty $secrets.twilioAuthToken) -}}
{{- fail "set both secrets.twilioAccountSid and secrets.twilioAuthToken, or neither (console transport)" -}}
{{- end -}}
DATABASE_URL: {{ required "secrets.databaseUrl is required unless existingSecret is set" $secrets.databaseUrl | b64enc | quote }}
REDIS_URL: {{ required "secrets.redisUrl is required unless existingSecret is set" $secrets.redisUrl | b64enc | quote }}
TEND_SECRET_KEY: {{ required "secrets.secretKey is required unless existingSecret is set" $secrets.secretKey | b64enc | quote }}
{{- with $secrets.twilioAccountSid }}
TWILIO_ACCOUNT_SID: {{ . | b64enc | quote }}
{{- end }}
{{- with $secrets.twilioAuthToken }}
TWILIO_AUTH_TOKEN: {{ . | b64enc | quote }}
{{- end }}
{{- end -}}

{{/*
The one environment every container gets. The migrations hook runs before the
release's ConfigMap and Secret exist, so it reads hook-scoped copies instead
(pass "hook" true).
*/}}
{{- define "tend.env" -}}
{{- $ := .context -}}
{{- $ownName := printf "%s%s" (include "tend.fullname" $) (ternary "-migrations" "" (default false .hook)) -}}
envFrom:
  - configMapRef:
      name: {{ $ownName }}
  - secretRef:
      name: {{ default $ownName $.Values.existingSecret }}
{{- with $.Values.extraEnv }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod annotations that restart pods when configuration or generated credentials change. */}}
{{- define "tend.checksumAnnotations" -}}
checksum/config: {{ include "tend.configData" . | sha256sum }}
{{- if not .Values.existingSecret }}
checksum/secret: {{ include "tend.secretData" . | sha256sum }}
{{- end }}
{{- end -}}

{{/*
Pod-level settings shared by all components: identity, pull secrets, pod
security and scheduling, taken from the component's own values.
*/}}
{{- define "tend.podSettings" -}}
{{- $ := .context -}}
{{- $component := index $.Values .component -}}
automountServiceAccountToken: {{ $.Values.serviceAccount.automountToken }}
{{- with $.Values.serviceAccount.name }}
serviceAccountName: {{ . }}
{{- end }}
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $component.podSecurityContext | nindent 2 }}
{{- with $component.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $component.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $component.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if hasKey $component "topologySpreadConstraints" }}
{{- include "tend.topologySpread" . }}
{{- end }}
volumes:
  - name: tmp
    emptyDir: {}
{{- end -}}

{{/*
Container fields (after its name) shared by all components: the Tend image
running `tend ARGS` (its entrypoint) with the shared environment, and a writable /tmp on a
read-only root filesystem.
*/}}
{{- define "tend.container" -}}
{{- $ := .context -}}
{{- $component := index $.Values .component -}}
image: {{ include "tend.image" $ }}
imagePullPolicy: {{ $.Values.image.pullPolicy }}
{{- /* No command: the image's entrypoint (tini -- tend) forwards SIGTERM to tend. */}}
args: {{ toJson .args }}
{{ include "tend.env" (dict "context" $ "hook" .hook) }}
securityContext:
  {{- toYaml $component.containerSecurityContext | nindent 2 }}
resources:
  {{- toYaml $component.resources | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* An HTTP probe against the web container, from web.livenessProbe or web.readinessProbe. */}}
{{- define "tend.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end -}}

{{/*
Spread a long-running component's pods over zones and nodes: the component's own
topologySpreadConstraints when given, else one constraint per topologySpread.topologyKeys.
*/}}
{{- define "tend.topologySpread" -}}
{{- $ := .context -}}
{{- $component := index $.Values .component -}}
{{- $spread := $.Values.topologySpread -}}
{{- $selector := dict "context" $ "component" .component -}}
{{- if $component.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml $component.topologySpreadConstraints | nindent 2 }}
{{- else if and $spread.enabled $spread.topologyKeys }}
topologySpreadConstraints:
  {{- range $spread.topologyKeys }}
  - topologyKey: {{ . }}
    maxSkew: {{ $spread.maxSkew }}
    whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "tend.selectorLabels" $selector | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}
